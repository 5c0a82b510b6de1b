"""Themes in exit-interview free text (Dutch and French), without ever showing a comment.

Method: TF-IDF term weights (Salton & Buckley 1988) on lower-cased, accent-stripped words with
compact Dutch and French stop-word lists shipped here (no download at run time), then
non-negative matrix factorisation X ~ W H (Lee & Seung 1999; scikit-learn ``NMF``, NNDSVD
initialisation, fixed ``random_state``). A compact bilingual lexicon (``CONCEPTS``) first maps
common Dutch and French expressions onto shared tokens, so themes follow subjects, not
languages. Each theme is described by its top terms (largest
weights in H) and each comment is assigned to the theme with the largest weight in W.

Disclosure: output holds only single words, theme ids and counts - never a comment. Words must
occur in at least ``min_term_comments`` comments, because a word used by one person (a name, a
street, a unit) can identify them. Themes with fewer than ``k`` comments are marked suppressed
and lose their terms. Too few comments -> ``status = "too_few_comments"``.

Example: 30 comments, half about "werkdruk / ploegen / horaires", half about "racisme / sfeer /
discrimination", with ``n_themes=2`` give one theme per subject.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from hrpipeline.domain import BACKGROUNDS, DEFAULT_MIN_CELL

# Compact stop-word lists (function words, pronouns, auxiliaries and a few interview fillers),
# accent-stripped to match the tokeniser. Sources: the Snowball Dutch and French stop lists
# (snowballstem.org), abridged.
DUTCH_STOP_WORDS = frozenset("""
aan al alle alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door
dus een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand
iets ik in is ja je jij jou jouw kan kon kunnen maar me meer men met mij mijn moet na naar
niet niets nog nu of om omdat ons onze ook op over reeds te tegen toch toen tot u uit uw van
veel voor want waren was wat we wel werd wie wij wil worden wordt zal ze zei zelf zich zij
zijn zo zonder zou echt heel erg zeer gewoon weer even steeds vaak nooit soms ook mijn onze
hebt had hadden wordt werden geworden zullen zouden moeten mocht mogen kunt willen wilde
""".split())

FRENCH_STOP_WORDS = frozenset("""
a ai aie au aux avec avoir avait c ca ce ceci cela ces cet cette d dans de des du elle elles
en est et etait etre eu eux il ils j je l la le les leur leurs lui m ma mais me meme mes moi
mon n ne nos notre nous on ont ou par pas pour qu que quel quelle qui s sa sans se ses si son
sont sur t ta te tes toi ton tu un une vos votre vous y tres trop plus moins aussi bien tout
tous toute toutes fait faire peu beaucoup jamais toujours souvent rien suis es sommes etes
etais etions ete avons avez avaient sera serait fut car donc ni or comme quand alors apres
avant chez entre vers cest jai quil nai
""".split())

STOP_WORDS = DUTCH_STOP_WORDS | FRENCH_STOP_WORDS

# Dutch and French share no words, so without help a bag-of-words model splits comments by
# language before subject. This compact bilingual lexicon maps common exit-interview
# expressions (accent-stripped, word-prefix regexes) onto one shared English concept token,
# so a Dutch and a French comment on the same subject meet in the same theme.
CONCEPTS: tuple[tuple[str, str], ...] = (
    (r"werkdruk\w*|charges? de travail|surcharge\w*|workload", "workload"),
    (r"ploeg\w*|nachtdienst\w*|horaires?|shifts?|pauses?|roosters?|dienstrooster\w*", "shifts"),
    (r"overuren|overuur|heures? supplementaires?", "overtime"),
    (r"racis\w*", "racism"),
    (r"discrimin\w*", "discrimination"),
    (r"(team)?sfeer|ambiance|climat\w*|teamgeest", "team_climate"),
    (r"collega\w*|collegues?", "colleagues"),
    (r"vijandig\w*|hostile\w*|toxi\w*", "hostile"),
    (r"equipes?|teams?", "team"),
    (r"woon-?werk\w*|pendel\w*|navettes?|trajets?|domicile", "commute"),
    (r"loon|lonen|salaris|salaires?|remuneration", "pay"),
    (r"loopbaan|carriere|promotie|promotion", "career"),
    (r"leiding\w*|chefs?|hierarchie|oversten?", "leadership"),
    (r"gezin\w*|famill\w*|kinderen|enfants", "family"),
)
_CONCEPT_RES = tuple((re.compile(rf"\b(?:{pat})\b"), tok) for pat, tok in CONCEPTS)

TOO_FEW = "too_few_comments"
OK = "ok"


def normalise(text: str) -> str:
    """Lower-case, strip accents and apostrophes (l'horaire -> l horaire) for matching."""
    text = unicodedata.normalize("NFKD", str(text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"['’`]", " ", text)


def to_concepts(text: str) -> str:
    """Normalise, then map bilingual expressions onto shared concept tokens (``CONCEPTS``)."""
    text = normalise(text)
    for rx, token in _CONCEPT_RES:
        text = rx.sub(f" {token} ", text)
    return text


@dataclass
class Theme:
    theme_id: int
    top_terms: list[str]
    n_comments: int
    by_group: dict[str, int]
    suppressed: bool


@dataclass
class ThemesResult:
    status: str
    message: str
    n_comments: int
    n_themes: int
    k: int
    themes: list[Theme] = field(default_factory=list)
    unassigned: int = 0

    def to_records(self) -> list[dict]:
        """One row per theme and group (counts raw: the service layer applies suppression)."""
        rows = []
        for t in self.themes:
            for g, c in t.by_group.items():
                rows.append({"theme_id": t.theme_id, "top_terms": ", ".join(t.top_terms),
                             "group": g, "count": c, "theme_total": t.n_comments,
                             "suppressed": t.suppressed})
        return rows

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records())

    def to_dict(self) -> dict:
        return asdict(self)


def find_themes(
    comments: Sequence[str] | pd.Series,
    groups: Sequence[str] | pd.Series | None = None,
    n_themes: int = 4,
    k: int = DEFAULT_MIN_CELL,
    min_comments: int = 20,
    min_term_comments: int = 3,
    top_n: int = 8,
    random_state: int = 0,
) -> ThemesResult:
    """Find ``n_themes`` themes in exit comments and count comments per theme and group.

    ``groups`` (same length as ``comments``) gives each comment's migration-background group.
    Empty comments are ignored. With fewer than ``max(min_comments, n_themes * k)`` non-empty
    comments the result is ``too_few_comments`` and holds no terms.
    """
    texts = pd.Series(list(comments), dtype=object).fillna("").astype(str)
    grp = pd.Series(list(groups) if groups is not None else ["all"] * len(texts), dtype=object)
    if len(grp) != len(texts):
        raise ValueError("comments and groups differ in length")
    keep = texts.str.strip().str.len() > 0
    texts, grp = texts[keep].reset_index(drop=True), grp[keep].fillna("unknown").astype(str)
    grp = grp.reset_index(drop=True)
    n = len(texts)
    needed = max(min_comments, n_themes * k)
    if n < needed:
        return ThemesResult(TOO_FEW, f"too few comments to find themes ({n} < {needed})", n,
                            0, k)
    vec = TfidfVectorizer(
        preprocessor=to_concepts,
        token_pattern=r"(?u)\b[^\W\d]{3,}\b",
        stop_words=sorted(STOP_WORDS),
        min_df=min_term_comments,
        max_df=0.9,
        sublinear_tf=True,
    )
    try:
        x = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary after pruning
        return ThemesResult(TOO_FEW, "too few shared words to find themes", n, 0, k)
    if x.shape[1] < n_themes:
        return ThemesResult(TOO_FEW, "too few shared words to find themes", n, 0, k)
    model = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=2000)
    w = model.fit_transform(x)
    terms = np.asarray(vec.get_feature_names_out())
    assigned = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    group_order = [g for g in BACKGROUNDS if g in set(grp)] + sorted(
        set(grp) - set(BACKGROUNDS))
    themes = []
    for i in range(n_themes):
        mask = assigned == i
        count = int(mask.sum())
        suppressed = count < k
        weights = model.components_[i]
        top = [] if suppressed else [
            str(terms[j]) for j in np.argsort(weights)[::-1][:top_n] if weights[j] > 0
        ]
        by_group = {g: int(((grp == g) & mask).sum()) for g in group_order}
        themes.append(Theme(i + 1, top, count, by_group, suppressed))
    themes.sort(key=lambda t: -t.n_comments)
    return ThemesResult(OK, "", n, n_themes, k, themes, int((assigned == -1).sum()))


__all__ = [
    "DUTCH_STOP_WORDS",
    "FRENCH_STOP_WORDS",
    "STOP_WORDS",
    "Theme",
    "ThemesResult",
    "find_themes",
    "normalise",
    "to_concepts",
]
