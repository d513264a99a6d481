"""Recover a zoo of checkpoints and draw its Model Graph — a notebook as a script.

    python examples/python/draw_zoo.py [ZOO] [--out model-graph.png] [--backend auto|matplotlib|dot|svg]

Each `# %%` cell runs on its own in Jupyter or VS Code. The drawing is a PNG made with matplotlib
(`pip install matplotlib`) or Graphviz's `dot` when either is installed; otherwise the library's
own SVG picture (`g.to_svg()`, any browser shows it; in a notebook, `g` alone shows it too). The
Graphviz source is written beside it in every case.
"""
# %% Imports and arguments
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

try:
    import modeltree as mt
except ImportError:
    sys.exit("draw_zoo.py needs the modeltree package: pip install ./bindings/python (README.md, From Python)")

HERE = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("zoo", nargs="?", default=os.path.join(HERE, "..", "zoo"), help="a folder of model folders")
parser.add_argument("--out", default="model-graph.png", help="the image to write (.png; .svg for the built-in drawing)")
parser.add_argument("--backend", choices=["auto", "matplotlib", "dot", "svg"], default="auto")
args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
# Before the recovery, not after it: a mistyped --out should not cost one.
if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
    sys.exit(f"draw_zoo.py: cannot write beside --out: no folder {os.path.dirname(os.path.abspath(args.out))}")

# %% Recover the Model Graph: two lines (and a one-line message when the zoo cannot be read)
try:
    g = mt.recover(args.zoo, progress=True)
except mt.ModelTreeError as e:
    sys.exit(f"draw_zoo.py: {e}")
print(g)
for e in g.edges:
    print(f"  {e.parent:>12} -> {e.child:<12} distance {e.distance:.4g}  confidence {e.confidence:.2f}{'  UNSURE' if e.unsure else ''}")

# %% Score it when the zoo knows its truth
truth = os.path.join(args.zoo, "truth.json")
if os.path.exists(truth):
    try:
        s = g.evaluate(truth)
    except mt.ModelTreeError as e:
        sys.exit(f"draw_zoo.py: {e}")
    print(f"edge accuracy {s.correct}/{s.total} ({100 * s.accuracy:.1f}%), ARI of the trees {s.ari:.3f}")


# %% Lay the forest out: leaves on consecutive slots, each parent centred above its children
def layout(graph: mt.Graph) -> dict[str, tuple[float, int]]:
    slots: dict[str, tuple[float, int]] = {}
    next_slot = [0.0]

    def place(node: str, depth: int) -> float:
        kids = sorted(graph.children(node))
        if not kids:
            x = next_slot[0]
            next_slot[0] += 1
        else:
            xs = [place(k, depth + 1) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        slots[node] = (x, depth)
        return x

    for root in graph.roots:
        place(root, 0)
        next_slot[0] += 0.5  # a gap between families
    return slots


# Slots as wide as the longest id, so that labels never overlap.
longest = max(len(m) for m in g.ids)
positions = {m: (x * max(1.0, longest / 10), d) for m, (x, d) in layout(g).items()}


# %% Draw: matplotlib, Graphviz, or the library's own picture
def draw_matplotlib(path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(x for x, _ in positions.values()) + 1
    depth = max(d for _, d in positions.values()) + 1
    fig, ax = plt.subplots(figsize=(max(4, 0.95 * width), max(3, 1.2 * depth)))
    for e in g.edges:
        (x0, y0), (x1, y1) = positions[e.parent], positions[e.child]
        ax.annotate("", xy=(x1, -y1 + 0.12), xytext=(x0, -y0 - 0.12),
                    arrowprops=dict(arrowstyle="->", linestyle="--" if e.unsure else "-", color="0.3"))
        ax.text((x0 + x1) / 2, -(y0 + y1) / 2, f"{e.confidence:.2f}", fontsize=7, color="0.4", ha="center")
    for m, (x, y) in positions.items():
        ax.text(x, -y, m, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="#e8f0fe" if g.parent(m) else "#fde8e8", ec="0.4"))
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-depth + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(f"Model Graph: {len(g)} models, {len(g.trees)} trees ({g.metric})")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def draw_dot(path: str, dot_source: str) -> None:
    if subprocess.run(["dot", "-Tpng", "-o", path, dot_source]).returncode != 0:
        sys.exit(f"draw_zoo.py: Graphviz's dot could not draw {dot_source} (its message is above)")


def draw_svg(path: str) -> None:
    g.to_svg(path)   # what `modeltree-cli recover ZOO --format svg` draws


def available(backend: str) -> bool:
    if backend == "matplotlib":
        try:
            import matplotlib  # noqa: F401
            return True
        except ImportError:
            return False
    return backend == "svg" or shutil.which("dot") is not None


stem = os.path.splitext(args.out)[0]
dot_source = stem + ".dot"
try:
    with open(dot_source, "w") as f:
        f.write(g.to_dot())
except OSError as e:
    sys.exit(f"draw_zoo.py: cannot write beside --out: {e}")
backend = args.backend
if backend == "auto":
    backend = next(b for b in ("matplotlib", "dot", "svg") if available(b))
elif not available(backend):
    sys.exit(f"the {backend} backend is not installed here")
image = args.out if backend != "svg" else stem + ".svg"
if backend == "matplotlib":
    draw_matplotlib(image)
elif backend == "dot":
    draw_dot(image, dot_source)
else:
    if args.out.endswith(".png"):
        print("neither matplotlib nor Graphviz is installed: drawing an SVG instead of a PNG")
    draw_svg(image)
print(f"wrote {image} ({backend}) and {dot_source}")
