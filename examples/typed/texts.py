"""Real text shipped by Debian packages: the corpora the typed zoos are trained on.

No internet: every text comes from a file a Debian bookworm machine has after
`apt-get install fortunes` (base-files and libpython3.11-stdlib are always there). Each file is
checked against the SHA-256 it had when the zoos were generated, so a different package version
stops the run with a message instead of silently training on other text.

    corpus(name) -> list[str]      documents of one named corpus
    sources()    -> list[dict]     every file used: path, sha256, Debian package, bytes
"""
from __future__ import annotations

import ast
import hashlib
import os
import re

PYDOC = "/usr/lib/python3.11/pydoc_data/topics.py"
LICENSES = "/usr/share/common-licenses"
FORTUNES = "/usr/share/games/fortunes"

# path -> (sha256, Debian package)
_SHA256 = {
    PYDOC: ("2d8108030912648feda37d4894ab700d247582568fe7a53260dd6a3c2d8e518d",
            "libpython3.11-stdlib 3.11.2-6+deb12u6"),
}
_LICENSE_SHA = {
    "Apache-2.0": "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
    "Artistic": "b7fd9b73ea99602016a326e0b62e6646060d18febdd065ceca8bb482208c3d88",
    "BSD": "5d588eb3b157d52112afea935c88a7ff9efddc1e2d95a42c25d3b96ad9055008",
    "CC0-1.0": "a2010f343487d3f7618affe54f789f5487602331c0a8d03f49e9a7c547cf0499",
    "GFDL-1.2": "d8e94ae5fdb5433fcae2961aeb1a8cf17174d6f4a0465d24bf37dd8a038bd439",
    "GFDL-1.3": "110535522396708cea37c72a802c5e7e81391139f5f7985631c93ef242b206a4",
    "GPL-1": "d77d235e41d54594865151f4751e835c5a82322b0e87ace266567c3391a4b912",
    "GPL-2": "8177f97513213526df2cf6184d8ff986c675afb514d4e68a404010521b880643",
    "GPL-3": "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986",
    "LGPL-2": "681e386e44a19d7d0674b4320272c90e66b6610b741e7e6305f8219c42e85366",
    "LGPL-2.1": "dc626520dcd53a22f727af3ee42c770e56c97a64fe3adb063799d8ab032fe551",
    "LGPL-3": "e3a994d82e644b03a792a930f574002658412f62407f5fee083f2555c5f23118",
    "MPL-1.1": "f849fc26a7a99981611a3a370e83078deb617d12a45776d6c4cada4d338be469",
    "MPL-2.0": "fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85",
}
_FORTUNE_SHA = {
    "art": "600b8197bc994fd4fcbb623aa5e700629540af44f044d4907886bd1031f160ce",
    "computers": "a86be224d9f733b88eeaf8a46ea0427e05cc69c69edcf5f6db47ddf561ca37fd",
    "cookie": "5dc97eee96dcc5287c373be629482730d45f77b59da1287933c9c5f482a055eb",
    "definitions": "57be4744c353d931fa2ca95f50215d4b67539f5a527ae628a6441fb4a1258caa",
    "drugs": "a5a59ee8b0e1fd3085a38dfa29149fe9a2c8d7f256b74aea71aa2cc08a9990c1",
    "education": "ba13321d6d6beb7a6e65296a47450bfc87b24a319fff2e94762011b59a31aa35",
    "food": "78077a65b9288df71e7b2a8e8258cd3b1005d1282f7c7e57ad53927f374df45d",
    "humorists": "ffdf67e1f4049133bf904b769c364de45e5ae0abfb3ea7c9afb54b87b89acfc4",
    "kids": "82e51834990afd36f2ea2f25864b368e2f44f9c761aba034035b26061de6d5be",
    "knghtbrd": "c25e8373b38a6f159a7b1d336f363d5c962224a6ddcc86279dec47aad3c869b3",
    "law": "f04141f94e788b7899e0adb0490d182ce711f8fdbb8252343a5257e717e9279d",
    "linux": "85b0e5eadf7adeea77da4e1fbd456c962ce3bd1dabbd053098ecf37de9169cf3",
    "literature": "22eab7d53ce994d0466901bb0d799ae3289603e17dc0bdb7f16666931155c5a5",
    "magic": "b9553a1d84d966db55a24a779206cc4565bf3686c9ecbc31215f654129e3166e",
    "news": "4b8eebae510353d6f628dfdaf52bf8cbdafb891a122b146421c805b74f389617",
    "pets": "084472564bc55df566733a224f8a737d78717132ec43628be0c2af466ac41ecc",
    "riddles": "bcaaab907b156a18a8943f0768828b4f1a18d382497d0e2ef012fe6aaa27becc",
    "love": "4d4fb7c540e5500e44643524dae41dd7d2b21b80be184253fd9f8541f6029fc5",
    "medicine": "18b8c7b098e649024159c9d9f3e37a0832bbd2d5cf3e2317b313134761afd487",
    "men-women": "8fc4eb68a8d16826372d9bfdc910c8ab917b8aa59e2aac533f3ec2b49a1314ba",
    "miscellaneous": "e3d81fd016f9f84a70ecb9aa197c4911aca01a8034e49345b81093f6751bba9c",
    "people": "2afb4b9f577be114d2dca279bc5590ee8415e1405295d7d7626c888d82f338e8",
    "perl": "b19145eadf97c31add2e0a199d93ffa0eb92e00275c2724b7ad6b4e412113536",
    "platitudes": "88448274efec3d2c0908cc11525c9b065b95a32c232a2c58c67a87dd88545ee5",
    "politics": "b56ca45a046edd5c459090a5c6b335332661b436e814b41ac87bb58065ad6131",
    "science": "7ab350b142ee6c70c1d8517c5a1b3790c09b190a62859427cad98e6e35a19fcc",
    "songs-poems": "eb714d297b468da91b6ca32baefb000279a3e3740b09f8a87db24fe58e010b1a",
    "sports": "b71dd524d7bca888ec1014fb849a8a15cf58017c59127e572d393ef7632c35c8",
    "startrek": "7b2e4c235b99452b2de4c47d67aae0faac2ea508a2d644609e4ef5db7653c39c",
    "tao": "4adddc35a122bb233a16c076abc0be0326ea3a68594146a6baee3b5f6489e12b",
    "wisdom": "9b0bd6b9331a68c9172219784a411c417c055ed69734edc7b4406795b87d4e94",
    "work": "ad8a0e104160e2c4782fa86e143cd60ffab2872985d4293ffd0af6df19dbfa28",
    "zippy": "b996a112c99a2d61782e1a9a1f3c5445122f18ac312485f2c78279e82ca33932",
}
for _n, _h in _LICENSE_SHA.items():
    _SHA256[os.path.join(LICENSES, _n)] = (_h, "base-files 12.4+deb12u11")
for _n, _h in _FORTUNE_SHA.items():
    _SHA256[os.path.join(FORTUNES, _n)] = (_h, "fortunes 1:1.99.1-7.3")

_used: dict[str, dict] = {}


def _read(path: str) -> str:
    """Read a source file after checking its SHA-256; remember it for the log."""
    if path not in _SHA256:
        raise KeyError(f"{path}: not a known corpus file")
    want, package = _SHA256[path]
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        hint = " (apt-get install fortunes)" if path.startswith(FORTUNES) else ""
        raise SystemExit(f"corpus file missing: {path}{hint}")
    got = hashlib.sha256(raw).hexdigest()
    if got != want:
        raise SystemExit(f"{path}: sha256 {got} differs from {want} ({package}); "
                         "the zoos would not be re-created exactly from other text")
    _used[path] = {"path": path, "sha256": got, "package": package, "bytes": len(raw)}
    return raw.decode("utf-8", errors="replace")


def _pydoc_topics() -> list[str]:
    """The pydoc topic texts (Python's reference documentation), read with ast, never executed."""
    tree = ast.parse(_read(PYDOC))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "topics":
            topics = ast.literal_eval(node.value)
            return [topics[k] for k in sorted(topics)]
    raise SystemExit(f"{PYDOC}: no `topics = {{...}}` assignment")


def _fortunes(name: str) -> list[str]:
    """One fortune file split at its `%` lines; overstrike sequences (x BACKSPACE x) removed."""
    text = re.sub(r".\x08", "", _read(os.path.join(FORTUNES, name)))
    return [d.strip("\n") for d in re.split(r"\n%\n", text) if d.strip()]


def corpus(name: str) -> list[str]:
    """Documents of a corpus: `pydoc`, `license:GPL-3`, `fortunes:tao`; `+` joins several."""
    docs: list[str] = []
    for part in name.split("+"):
        kind, _, arg = part.partition(":")
        if kind == "pydoc":
            docs += _pydoc_topics()
        elif kind == "license":
            docs += [_read(os.path.join(LICENSES, arg))]
        elif kind == "fortunes":
            docs += _fortunes(arg)
        else:
            raise ValueError(f"unknown corpus part {part!r}")
    return docs


def sources() -> list[dict]:
    return [_used[p] for p in sorted(_used)]
