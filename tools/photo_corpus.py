"""Build the photo corpus: real photographs that no one here made, and printed pages, reproducibly.

    python tools/photo_corpus.py OUT [--cache DEBS] [--lomiri] [--lxqt] [--gcompris | --gcompris-half]

writes
    OUT/train/…                 training pictures (PNG), by source
    OUT/heldout/colour/*.png    9 held-out colour photos, 256×256 centre crops, RGB (bench's colour table)
    OUT/heldout/grey/*.png      those and a grey photo as 384×384 grey crops, and 2 held-out printed pages
    OUT/SOURCES.md              each source: package, version, licence, files taken
    OUT/SHA256SUMS              a checksum of every file written (`sha256sum -c` checks it)

Sources: Debian's mate-backgrounds, plasma-workspace-wallpapers, stellarium-data (telescope photos of
nebulae and galaxies) and tuxpaint-stamps-default (photographs of animals, food and plants), fetched
with `apt-get download` into DEBS (default OUT/.debs) and unpacked there; scikit-image's, scikit-learn's
and matplotlib's sample pictures; pages of text rendered with Debian's DejaVu and Liberation fonts.
With `--lomiri`, also the 14 photographs of Debian's lomiri-wallpapers-16.04 and -20.04 (Ubuntu's wallpaper
contests; CC0, CC-BY and CC-BY-SA, each file's in SOURCES.md), in training only: the held-out crops and every
other file stay byte for byte those of the corpus without it (the photo model's first two cycles; the third had it).
With `--lxqt`, also the 10 photographs among lxqt-themes' wallpapers (flowers, butterflies, clouds, fog, hills;
CC-BY-SA-3.0), in training only, the same way (the fourth cycle had both).
With `--gcompris`, also the 119 photographs of Wikimedia Commons that GCompris's activities ship (animals, monuments,
musicians, the sea; CC0, public domain, CC-BY and CC-BY-SA, each file's from its activity's README), the same way.
With `--gcompris-half`, those at half their size (each 2×2 block averaged): they ship as lossy WebP, and halving
shrinks its blocks and smoothed texture below a pixel.
Illustrations and abstract wallpapers are left out by name; only the packages named here are read.
Everything random is seeded: the same packages give the same files.
"""
import argparse
import hashlib
import io
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SEED = 2026
MAX_SIDE = 1280  # wallpapers (up to 5120 px) are downscaled: cleaner targets, more scene per patch
PACKAGES = {  # package: (version built with, licence, what is taken)
    "mate-backgrounds": ("1.26.0-1", "GPL-2+", "photographs in backgrounds/mate/nature"),
    "plasma-workspace-wallpapers": ("4:5.27.5-2", "GPL-2+", "the photographs among the wallpapers"),
    "stellarium-data": ("0.22.2-1", "GPL-2+", "64 RGB telescope images of nebulae and galaxies, seeded pick"),
    "tuxpaint-stamps-default": ("2022.06.04-1", "GPL-2+", "photographs of animals, food and plants at least 256 px, on white"),
    "fonts-dejavu-core": ("2.37-6", "Bitstream Vera / public domain", "fonts for the rendered pages"),
    "fonts-liberation": ("1:1.07.4-11", "OFL-1.1", "fonts for the rendered pages"),
}
LOMIRI = {  # package: (version built with, its photographs and their licences, from its copyright file)
    "lomiri-wallpapers-16.04": ("20.04.0-2", {
        "Bridge_by_Sander_Klootwijk": "CC-BY-SA-4.0", "Dragonfly_by_Bolly": "CC-BY-SA-4.0",
        "Picture_0B_by_freespace": "CC-BY-4.0", "Picture_1A_by_freespace": "CC-BY-4.0", "Wine_by_Jakkub_Mede": "CC-BY-4.0",
        "aitzgorri_by_Aitzol_Berasategi": "CC-BY-4.0", "free_by_Peter_Nerlich": "CC-BY-SA-4.0",
        "friends_by_Aitzol_Berasategi": "CC-BY-4.0", "greentock_by_Peter_Nerlich": "CC-BY-SA-4.0",
        "life_by_Aitzol_Berasategi": "CC-BY-4.0", "picosdeeuropa_by_Aitzol_Berasategi": "CC-BY-4.0",
        "seeding_by_Clements_Engelhardt": "CC0-1.0", "sunset_by_Aitzol_Berasategi": "CC-BY-4.0"}),
    "lomiri-wallpapers-20.04": ("20.04.0-2", {"Kleiber_by_Lukas_Baubkus": "CC-BY-SA-3.0"}),
}  # left out: the illustrations and abstract ones (analogpattern, umang, Fossa, Infinite-Sea, Painting-Colors)
LXQT = {"lxqt-themes": ("1.2.0-1", {  # its wallpapers/License: CC-BY-SA-3.0, photographs by stefonarch and Kenneth Wimer
    "Butterfly-Kenneth-Wimer.jpg": "CC-BY-SA-3.0", "after-the-rain.jpg": "CC-BY-SA-3.0",
    "appleflower.png": "CC-BY-SA-3.0", "beam.png": "CC-BY-SA-3.0", "butterfly.png": "CC-BY-SA-3.0",
    "cloud.png": "CC-BY-SA-3.0", "drop.png": "CC-BY-SA-3.0", "flowers.png": "CC-BY-SA-3.0", "fog.jpg": "CC-BY-SA-3.0",
    "this-is-not-windows.jpg": "CC-BY-SA-3.0"})}  # left out: the logos, origami, waves, triangles and Valendas
GCOMPRIS = {"gcompris-qt-data": ("3.1-2", ["erase", "explore_monuments", "explore_world_animals",
                                            "explore_farm_animals", "explore_world_music", "clickgame"])}
# taken: the files that an activity's README credits to a Wikimedia Commons source (photographs; not the drawings)
PLASMA_PHOTOS = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                 "Kite", "OneStandsOut", "Path", "summer_1am"]
MATE_NATURE = ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
               "TwoWings", "Wood", "YellowFlower"]
SKIMAGE = {"astronaut": "photo", "chelsea": "photo", "coffee": "photo", "rocket": "photo", "motorcycle_left": "photo",
           "motorcycle_right": "photo", "immunohistochemistry": "microscopy", "retina": "medical",
           "hubble_deep_field": "astronomy", "camera": "photo", "coins": "scan", "moon": "astronomy",
           "brick": "texture", "grass": "texture", "gravel": "texture", "cell": "microscopy",
           "microaneurysms": "medical", "page": "text", "text": "text"}
SKLEARN = ["china.jpg", "flower.jpg"]
MATPLOTLIB = ["grace_hopper.jpg", "Minduka_Present_Blue_Pack.png"]
# Held out of training, by name: photos of every kind of scene (bench's tables), never a training file.
HELD_OUT = ["skimage-astronaut", "skimage-coffee", "skimage-motorcycle_left", "skimage-camera", "sklearn-china",
            "matplotlib-grace_hopper", "mate-LadyBird", "mate-Storm", "plasma-ColorfulCups", "plasma-EveningGlow"]
TRAIN_PAGES, HELD_OUT_PAGES = 48, 2
NEBULAE = 64


def fetch_debs(cache: Path, packages: dict[str, str]) -> Path:
    """Download and unpack the Debian packages, named with the version built with (once); returns the unpacked root."""
    root = cache / "root"
    cache.mkdir(parents=True, exist_ok=True)
    for package, pinned in packages.items():
        if not list(cache.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
        deb = sorted(cache.glob(f"{package}_*.deb"))[-1]
        if pinned and pinned.replace(":", "%3a") not in deb.name:
            print(f"note: {deb.name} is not version {pinned}: the corpus will differ from SHA256SUMS", file=sys.stderr)
        marker = root / f".{package}.unpacked"
        if not marker.exists():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
    return root


def downscaled(image: Image.Image) -> Image.Image:
    image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    factor = max(image.size) / MAX_SIDE
    if factor <= 1:
        return image
    return image.resize((round(image.width / factor), round(image.height / factor)), Image.LANCZOS)


def on_white(image: Image.Image) -> Image.Image:
    """Transparent parts become white paper; palette images become RGB."""
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")


def debian_pictures(root: Path) -> dict[str, Image.Image]:
    pictures = {}
    for name in MATE_NATURE:
        pictures[f"mate-{name}"] = Image.open(root / f"usr/share/backgrounds/mate/nature/{name}.jpg")
    for name in PLASMA_PHOTOS:
        images = root / f"usr/share/wallpapers/{name}/contents/images"
        largest = max(images.glob("*.jpg"), key=lambda p: int(p.stem.split("x")[0]) * int(p.stem.split("x")[1]))
        pictures[f"plasma-{name}"] = Image.open(largest)
    nebulae = sorted(p for p in (root / "usr/share/stellarium/nebulae/default").iterdir()
                     if p.suffix.lower() in (".png", ".jpg") and Image.open(p).mode == "RGB" and min(Image.open(p).size) >= 256)
    for i in np.random.default_rng(SEED).choice(len(nebulae), NEBULAE, replace=False):
        pictures[f"stellarium-{nebulae[i].stem}"] = Image.open(nebulae[i])
    stamps = root / "usr/share/tuxpaint/stamps"
    for path in sorted(p for kind in ("animals", "food", "plants") for p in (stamps / kind).rglob("*.png")):
        image = Image.open(path)
        if min(image.size) >= 256 and not (path.with_suffix(".svg")).exists():
            pictures[f"tuxpaint-{path.stem}"] = on_white(image)
    return pictures


def lomiri_pictures(root: Path) -> dict[str, Image.Image]:
    return {f"lomiri-{name}": Image.open(root / f"usr/share/backgrounds/{name}.jpg")
            for _, photos in LOMIRI.values() for name in photos}


def lxqt_pictures(root: Path) -> dict[str, Image.Image]:
    return {f"lxqt-{Path(name).stem}": Image.open(root / f"usr/share/lxqt/wallpapers/{name}")
            for _, photos in LXQT.values() for name in photos}


def rcc_files(data: bytes) -> dict[str, bytes]:
    """The files of a Qt resource bundle (.rcc, format 1–3), by path; zlib-compressed ones inflated."""
    magic, version, tree, payload, names = struct.unpack(">4sIIII", data[:20])
    if magic != b"qres":
        raise ValueError("not a Qt resource file")
    node = 22 if version >= 2 else 14
    files: dict[str, bytes] = {}

    def name(offset: int) -> str:
        length = struct.unpack(">H", data[names + offset:names + offset + 2])[0]
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, path: str) -> None:
        at = tree + index * node
        name_offset, flags = struct.unpack(">IH", data[at:at + 6])
        here = f"{path}/{name(name_offset)}" if index else ""
        if flags & 2:  # a folder: its children are consecutive nodes
            count, first = struct.unpack(">II", data[at + 6:at + 14])
            for child in range(first, first + count):
                walk(child, here)
            return
        offset = payload + struct.unpack(">I", data[at + 10:at + 14])[0]
        blob = data[offset + 4:offset + 4 + struct.unpack(">I", data[offset:offset + 4])[0]]
        files[here] = zlib.decompress(blob[4:]) if flags & 1 else blob

    walk(0, "")
    return files


def credits(readme: str) -> dict[str, str]:
    """An activity README's photographs credited to Wikimedia Commons: file name -> licence."""
    taken = {}
    for block in readme.split("\n\n"):
        fields, files = {}, []
        for line in block.splitlines():
            key, _, value = line.partition(":")
            if key in ("Copyright", "License", "Source", "Files", "Comments"):
                fields[key] = value.strip()
                files += [value.strip()] if key == "Files" and value.strip() else []
            elif line.strip() and "Files" in fields:
                files.append(line.strip())
        if "commons.wikimedia.org" in fields.get("Source", ""):
            taken |= {name: fields["License"] for name in files}
    return taken


def gcompris_pictures(root: Path) -> dict[str, tuple[Image.Image, str]]:
    """GCompris's Wikimedia photographs, with each one's licence, from its activities' resource bundles."""
    pictures = {}
    for activity in GCOMPRIS["gcompris-qt-data"][1]:
        files = rcc_files((root / f"usr/share/gcompris-qt/rcc/{activity}.rcc").read_bytes())
        readme = next(data for path, data in files.items() if path.endswith("/README"))  # one per bundle
        for name, licence in credits(readme.decode()).items():
            path = next((p for p in files if p.endswith(f"/{name}")), None)
            if path is None or Path(name).suffix not in (".webp", ".jpg", ".png"):
                continue  # the sounds, and a name the README misspells (its file, uncredited, is left out)
            pictures[f"gcompris-{activity}-{Path(name).stem}"] = (Image.open(io.BytesIO(files[path])), licence)
    return pictures


def python_pictures() -> dict[str, Image.Image]:
    import matplotlib
    import sklearn.datasets
    from skimage import data

    folder = Path(data.__file__).parent  # the stereo pair has no loader of its own: read its files
    pictures = {f"skimage-{name}": Image.open(folder / f"{name}.png") if name.startswith("motorcycle")
                else Image.fromarray(np.asarray(getattr(data, name)())) for name in SKIMAGE}
    sk_images = Path(sklearn.datasets.__file__).parent / "images"
    pictures |= {f"sklearn-{Path(n).stem}": Image.open(sk_images / n) for n in SKLEARN}
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    pictures |= {f"matplotlib-{Path(n).stem}": on_white(Image.open(sample / n)) for n in MATPLOTLIB}
    return pictures


def words(root: Path) -> list[str]:
    """A deterministic word list: the licence texts that ship in the packages themselves."""
    text = " ".join((root / f"usr/share/doc/{p}/copyright").read_text(errors="replace") for p in PACKAGES)
    return [w for w in text.split() if w.isprintable() and len(w) < 18]


def page(root: Path, vocabulary: list[str], rng: np.random.Generator) -> Image.Image:
    """A printed page: dark text in one font and size (8–28 px) on light paper, a heading and paragraphs."""
    fonts = sorted((root / "usr/share/fonts/truetype").rglob("*.ttf"))
    font_path = fonts[rng.integers(len(fonts))]
    size = int(rng.choice([8, 9, 10, 11, 12, 14, 16, 18, 22, 28]))
    font = ImageFont.truetype(str(font_path), size)
    width, height = int(rng.integers(480, 800)), int(rng.integers(480, 800))
    paper = tuple(int(v) for v in rng.integers(215, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 70, 3))
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    margin = int(rng.integers(8, 40))
    columns = max(8, int((width - 2 * margin) / (0.55 * size)))
    y = margin
    heading = ImageFont.truetype(str(font_path), int(size * 1.6))
    draw.text((margin, y), " ".join(rng.choice(vocabulary, 4)), font=heading, fill=ink)
    y += int(size * 2.4)
    while y < height - margin - size:
        for line in textwrap.wrap(" ".join(rng.choice(vocabulary, int(rng.integers(20, 80)))), columns):
            if y > height - margin - size:
                break
            draw.text((margin, y), line, font=font, fill=ink)
            y += int(size * 1.3)
        y += size
    return image


def centre_crop(image: Image.Image, side: int) -> Image.Image:
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, help="folder for the downloaded Debian packages (default OUT/.debs)")
    parser.add_argument("--lomiri", action="store_true", help="also the photographs of lomiri-wallpapers (training only)")
    parser.add_argument("--lxqt", action="store_true", help="also the photographs of lxqt-themes (training only)")
    parser.add_argument("--gcompris", action="store_true", help="also GCompris's photographs (training only)")
    parser.add_argument("--gcompris-half", action="store_true", help="the same at half their size")
    args = parser.parse_args()
    args.gcompris |= args.gcompris_half
    out, cache = args.out, args.cache or args.out / ".debs"
    extras = {**(LOMIRI if args.lomiri else {}), **(LXQT if args.lxqt else {})}
    packages = {package: pinned for package, (pinned, _, _) in PACKAGES.items()}
    packages |= {package: pinned for package, (pinned, _) in (extras | (GCOMPRIS if args.gcompris else {})).items()}
    root = fetch_debs(cache, packages)
    gcompris = gcompris_pictures(root) if args.gcompris else {}
    if gcompris:
        extras["gcompris-qt-data"] = (GCOMPRIS["gcompris-qt-data"][0],
                                      {name.removeprefix("gcompris-"): licence for name, (_, licence) in gcompris.items()})
    pictures = {**debian_pictures(root), **python_pictures(), **(lomiri_pictures(root) if args.lomiri else {}),
                **(lxqt_pictures(root) if args.lxqt else {}), **{name: image for name, (image, _) in gcompris.items()}}
    written: list[Path] = []

    def save(image: Image.Image, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG")
        written.append(path)

    for name, image in sorted(pictures.items()):
        image = downscaled(image)
        if args.gcompris_half and name in gcompris:
            image = image.reduce(2)
        if name in HELD_OUT:
            if image.mode != "L":  # a grey photo is held out in grey only
                save(centre_crop(image.convert("RGB"), 256), out / "heldout/colour" / f"{name}.png")
            save(centre_crop(image.convert("L"), 384), out / "heldout/grey" / f"{name}.png")
        else:
            save(image, out / "train" / name.split("-", 1)[0] / f"{name}.png")
    vocabulary = words(root)
    rng = np.random.default_rng(SEED)
    for i in range(TRAIN_PAGES):
        save(page(root, vocabulary, rng), out / "train/pages" / f"page-{i:02d}.png")
    for i in range(HELD_OUT_PAGES):
        save(centre_crop(page(root, vocabulary, rng).convert("L"), 384), out / "heldout/grey" / f"page-{i:02d}.png")

    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}" for p in written]
    (out / "SHA256SUMS").write_text("\n".join(sorted(sums, key=lambda s: s[66:])) + "\n")
    lines = ["# Photo corpus sources", "", "| source | version | licence | taken |", "|---|---|---|---|"]
    for package, (pinned, licence, what) in PACKAGES.items():
        deb = sorted(cache.glob(f"{package}_*.deb"))[-1].name
        lines.append(f"| Debian `{package}` | {deb.split('_')[1].replace('%3a', ':')} | {licence} | {what} |")
    for package, (_, photos) in extras.items():
        deb = sorted(cache.glob(f"{package}_*.deb"))[-1].name
        taken = ", ".join(f"{name} ({licence})" for name, licence in photos.items())
        if package == "gcompris-qt-data" and args.gcompris_half:
            taken = f"at half size (2×2 box average): {taken}"
        lines.append(f"| Debian `{package}` | {deb.split('_')[1]} | each photograph's own, from its copyright, licence or README file | {taken} |")
    lines += ["| scikit-image `skimage.data` | installed | BSD-3-Clause; some pictures CC0 or public domain "
              "(skimage/data/README.txt) | " + ", ".join(SKIMAGE) + " |",
              "| scikit-learn `load_sample_images` | installed | CC-BY 2.0 (China, Flower; sklearn's README) | china, flower |",
              "| matplotlib `sample_data` | installed | public domain (Grace Hopper), matplotlib's licence | "
              + ", ".join(Path(n).stem for n in MATPLOTLIB) + " |",
              "", f"Held out (bench): {', '.join(HELD_OUT)}, and {HELD_OUT_PAGES} rendered pages.", ""]
    (out / "SOURCES.md").write_text("\n".join(lines))
    train = sum(1 for p in written if "train" in p.parts)
    print(f"{train} training pictures in {out / 'train'}; {len(written) - train} held-out crops in {out / 'heldout'}")


if __name__ == "__main__":
    main()
