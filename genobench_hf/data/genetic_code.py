"""NCBI translation tables and a small translator.

The tables are written as differences from the standard code (table 1), which is how NCBI itself
describes them (https://www.ncbi.nlm.nih.gov/Taxonomy/Utils/wprintgc.cgi, file gc.prt). Codons that
NCBI marks as context-dependent stops (tables 27, 28, 31) are given their sense meaning, as in gc.prt's
amino-acid line. Codons with IUPAC ambiguity codes translate as NCBI does: to the one amino acid
that every resolution of the codon gives (``GGN`` -> G), otherwise to ``X``; anything else gives ``X``.
This is needed to reproduce GenBank /translation values of draft genomes.
"""

from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np

_BASES = "TCAG"
_CODONS = tuple(a + b + c for a in _BASES for b in _BASES for c in _BASES)
_STANDARD_AAS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"

# table id -> (name, codon changes relative to table 1, start codons)
_TABLES: dict[int, tuple[str, dict[str, str], tuple[str, ...]]] = {
    1: ("Standard", {}, ("TTG", "CTG", "ATG")),
    2: (
        "Vertebrate Mitochondrial",
        {"AGA": "*", "AGG": "*", "ATA": "M", "TGA": "W"},
        ("ATT", "ATC", "ATA", "ATG", "GTG"),
    ),
    3: (
        "Yeast Mitochondrial",
        {"ATA": "M", "CTT": "T", "CTC": "T", "CTA": "T", "CTG": "T", "TGA": "W"},
        ("ATA", "ATG", "GTG"),
    ),
    4: (
        "Mold/Protozoan/Coelenterate Mitochondrial; Mycoplasma/Spiroplasma",
        {"TGA": "W"},
        ("TTA", "TTG", "CTG", "ATT", "ATC", "ATA", "ATG", "GTG"),
    ),
    5: (
        "Invertebrate Mitochondrial",
        {"AGA": "S", "AGG": "S", "ATA": "M", "TGA": "W"},
        ("TTG", "ATT", "ATC", "ATA", "ATG", "GTG"),
    ),
    6: ("Ciliate, Dasycladacean and Hexamita Nuclear", {"TAA": "Q", "TAG": "Q"}, ("ATG",)),
    9: (
        "Echinoderm and Flatworm Mitochondrial",
        {"AAA": "N", "AGA": "S", "AGG": "S", "TGA": "W"},
        ("ATG", "GTG"),
    ),
    10: ("Euplotid Nuclear", {"TGA": "C"}, ("ATG",)),
    11: ("Bacterial, Archaeal and Plant Plastid", {}, ("TTG", "CTG", "ATT", "ATC", "ATA", "ATG", "GTG")),
    12: ("Alternative Yeast Nuclear", {"CTG": "S"}, ("CTG", "ATG")),
    13: (
        "Ascidian Mitochondrial",
        {"AGA": "G", "AGG": "G", "ATA": "M", "TGA": "W"},
        ("TTG", "ATA", "ATG", "GTG"),
    ),
    14: (
        "Alternative Flatworm Mitochondrial",
        {"AAA": "N", "AGA": "S", "AGG": "S", "TAA": "Y", "TGA": "W"},
        ("ATG",),
    ),
    15: ("Blepharisma Nuclear", {"TAG": "Q"}, ("ATG",)),
    16: ("Chlorophycean Mitochondrial", {"TAG": "L"}, ("ATG",)),
    21: (
        "Trematode Mitochondrial",
        {"TGA": "W", "ATA": "M", "AGA": "S", "AGG": "S", "AAA": "N"},
        ("ATG", "GTG"),
    ),
    22: ("Scenedesmus obliquus Mitochondrial", {"TCA": "*", "TAG": "L"}, ("ATG",)),
    23: ("Thraustochytrium Mitochondrial", {"TTA": "*"}, ("ATT", "ATG", "GTG")),
    24: (
        "Rhabdopleuridae Mitochondrial",
        {"AGA": "S", "AGG": "K", "TGA": "W"},
        ("TTG", "CTG", "ATG", "GTG"),
    ),
    25: ("Candidate Division SR1 and Gracilibacteria", {"TGA": "G"}, ("TTG", "ATG", "GTG")),
    26: ("Pachysolen tannophilus Nuclear", {"CTG": "A"}, ("CTG", "ATG")),
    27: ("Karyorelict Nuclear", {"TAA": "Q", "TAG": "Q", "TGA": "W"}, ("ATG",)),
    28: ("Condylostoma Nuclear", {"TAA": "Q", "TAG": "Q", "TGA": "W"}, ("ATG",)),
    29: ("Mesodinium Nuclear", {"TAA": "Y", "TAG": "Y"}, ("ATG",)),
    30: ("Peritrich Nuclear", {"TAA": "E", "TAG": "E"}, ("ATG",)),
    31: ("Blastocrithidia Nuclear", {"TAA": "E", "TAG": "E", "TGA": "W"}, ("ATG",)),
    32: ("Balanophoraceae Plastid", {"TAG": "W"}, ("TTG", "CTG", "ATT", "ATC", "ATA", "ATG", "GTG")),
    33: (
        "Cephalodiscidae Mitochondrial",
        {"TAA": "Y", "TGA": "W", "AGA": "S", "AGG": "K"},
        ("TTG", "CTG", "ATG", "GTG"),
    ),
}

TABLE_IDS: tuple[int, ...] = tuple(sorted(_TABLES))

_IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "U": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT"}
_IUPAC |= {"K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}


def _entry(table: int) -> tuple[str, dict[str, str], tuple[str, ...]]:
    try:
        return _TABLES[table]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown NCBI translation table {table!r}; known tables: {', '.join(map(str, TABLE_IDS))}"
        ) from None


@cache
def _codon_map(table: int) -> dict[str, str]:
    _, changes, _ = _entry(table)
    mapping = dict(zip(_CODONS, _STANDARD_AAS, strict=True))
    mapping.update(changes)
    return mapping


@cache
def _ambiguous_map(table: int) -> dict[str, str]:
    """Every codon over the IUPAC alphabet (U included) -> amino acid, 'X' where resolutions disagree."""
    exact = _codon_map(table)
    out: dict[str, str] = {}
    for codon in map("".join, product(_IUPAC, repeat=3)):
        aas = {exact["".join(c)] for c in product(*(_IUPAC[b] for b in codon))}
        out[codon] = aas.pop() if len(aas) == 1 else "X"
    return out


def table_name(table: int) -> str:
    """NCBI's name of a translation table (for messages and dataset cards)."""
    return _entry(table)[0]


def codon_table(table: int) -> dict[str, str]:
    """Codon (uppercase DNA) -> amino acid ('*' = stop) for NCBI table ``table``; a fresh copy."""
    return dict(_codon_map(table))


def start_codons(table: int) -> frozenset[str]:
    """Initiation codons NCBI lists for ``table`` (translated as M at the start of a complete CDS)."""
    return frozenset(_entry(table)[2])


def stop_codons(table: int) -> frozenset[str]:
    """Codons that are stops in ``table``."""
    return frozenset(c for c, aa in _codon_map(table).items() if aa == "*")


# Codon lookup: every byte -> its IUPAC code index (0..15: ``_ALPHABET`` in order, either case, U as T)
# or 16 (not a nucleotide code, so the codon translates to X); a codon is i*289 + j*17 + k.
_ALPHABET = "ACGTRYSWKMBDHVN"
_N_CODES = len(_ALPHABET) + 2  # + U (same meaning as T, kept as its own index for clarity) + "other"
_OTHER = _N_CODES - 1
_BYTE_CODE = np.full(256, _OTHER, dtype=np.int32)
for _i, _b in enumerate(_ALPHABET + "U"):
    _BYTE_CODE[ord(_b)] = _BYTE_CODE[ord(_b.lower())] = _i


@cache
def _codon_lookup(table: int) -> np.ndarray:
    """uint8 amino acid per codon index (see ``_BYTE_CODE``); 'X' wherever a base is not IUPAC."""
    mapping = _ambiguous_map(table)
    letters = _ALPHABET + "U"
    lookup = np.full(_N_CODES**3, ord("X"), dtype=np.uint8)
    for i, a in enumerate(letters):
        for j, b in enumerate(letters):
            for k, c in enumerate(letters):
                lookup[(i * _N_CODES + j) * _N_CODES + k] = ord(mapping[a + b + c])
    return lookup


def translate(seq: str, table: int = 1, *, to_stop: bool = False) -> str:
    """Translate a DNA/RNA string codon by codon (a trailing partial codon is ignored).

    Case is ignored and U is read as T; ambiguity codes resolve as in the module docstring, other
    characters give 'X'. With ``to_stop`` the result ends before the first stop codon. Vectorised: one
    table lookup over all codon indices (a bacterial CDS translates in microseconds).
    """
    lookup = _codon_lookup(table)
    try:
        data = seq.encode("ascii")
    except UnicodeEncodeError:  # rare: translate the ASCII-safe way, character by character
        return _translate_slow(seq, table, to_stop=to_stop)
    n = len(data) // 3
    codes = _BYTE_CODE[np.frombuffer(data, dtype=np.uint8, count=3 * n)].reshape(n, 3)
    protein = (
        lookup[(codes[:, 0] * _N_CODES + codes[:, 1]) * _N_CODES + codes[:, 2]].tobytes().decode("ascii")
    )
    if to_stop:
        stop = protein.find("*")
        return protein if stop < 0 else protein[:stop]
    return protein


def _translate_slow(seq: str, table: int, *, to_stop: bool) -> str:
    mapping = _ambiguous_map(table)
    s = seq.upper()
    out: list[str] = []
    for i in range(0, len(s) - 2, 3):
        aa = mapping.get(s[i : i + 3], "X")
        if to_stop and aa == "*":
            break
        out.append(aa)
    return "".join(out)
