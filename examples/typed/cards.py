"""Model cards and the origin claims they make, written and read the way hub tools do.

Written: README.md YAML front matter (`base_model:` as a string or a list, `base_model_relation:`),
config.json `_name_or_path` (transformers 4.x saved the name a model was loaded from there;
transformers 5 no longer does, so it is added back with the same sorted, 2-space layout), and
mergekit's `mergekit_config.yml`. adapter_config.json is written by PEFT itself, GGUF metadata by
gguf-py (see gguf_export.py).

Read: `claims(path, fmt)` lists every claim a model's files make, each as
{"source": "readme"|"config"|"adapter_config"|"gguf", "claimed": str}; GGUF claims are
`general.base_model.N.repo_url` (or `.name` when a file has no URL), one per N.
"""
from __future__ import annotations

import json
import os

import yaml


def write_readme(folder: str, title: str, body: str, base_model=None, relation: str | None = None,
                 extra: dict | None = None) -> None:
    front = {}
    if base_model is not None:
        front["base_model"] = base_model
    if relation is not None:
        front["base_model_relation"] = relation
    front.update(extra or {})
    text = ""
    if front:
        text = "---\n" + yaml.safe_dump(front, sort_keys=False, default_flow_style=False) + "---\n\n"
    text += f"# {title}\n\n{body.strip()}\n"
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(text)


def set_name_or_path(folder: str, value: str) -> None:
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["_name_or_path"] = value
    with open(path, "w") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def write_mergekit_config(folder: str, config: dict) -> None:
    with open(os.path.join(folder, "mergekit_config.yml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False, default_flow_style=False)


def _front_matter(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    data = yaml.safe_load(text[4:end]) if end > 0 else None
    return data if isinstance(data, dict) else {}


def claims(path: str, fmt: str) -> list[dict]:
    out = []
    if os.path.isdir(path):
        readme = os.path.join(path, "README.md")
        if os.path.isfile(readme):
            bm = _front_matter(readme).get("base_model")
            for b in ([bm] if isinstance(bm, str) else bm or []):
                out.append({"source": "readme", "claimed": b})
        for fname, key, source in (("config.json", "_name_or_path", "config"),
                                   ("adapter_config.json", "base_model_name_or_path", "adapter_config")):
            p = os.path.join(path, fname)
            if os.path.isfile(p):
                with open(p) as f:
                    value = json.load(f).get(key)
                if value:
                    out.append({"source": source, "claimed": value})
    elif fmt == "gguf":
        import gguf
        r = gguf.GGUFReader(path)

        def s(key):
            f = r.fields.get(key)
            return None if f is None else bytes(f.parts[f.data[0]]).decode("utf-8")

        cnt = r.fields.get("general.base_model.count")
        n = 0 if cnt is None else int(cnt.parts[cnt.data[0]][0])
        for i in range(n):
            c = s(f"general.base_model.{i}.repo_url") or s(f"general.base_model.{i}.name")
            if c:
                out.append({"source": "gguf", "claimed": c})
    return out


def claimed_id(claimed: str) -> str:
    """The model id a claim names: the last path component of a hub id, path or URL."""
    return claimed.rstrip("/").rsplit("/", 1)[-1]
