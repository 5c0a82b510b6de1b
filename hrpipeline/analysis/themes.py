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

import math
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
UNSTABLE = "unstable"
LANGUAGE_SPLIT = "language_split"
OK = "ok"
STATUSES = (OK, TOO_FEW, UNSTABLE, LANGUAGE_SPLIT)

#: Stability check: split-half prediction stability (Lange, Roth, Braun & Buhmann 2004,
#: "Stability-based validation of clustering solutions", Neural Computation 16(6)):
#: ``N_RESAMPLES`` random splits of the comments into two disjoint halves (fixed seed), the
#: model fitted on each half, every comment assigned to a theme by each of the two models, and
#: the agreement of the two assignments measured by the adjusted Rand index (1 = the same
#: themes, 0 = chance). Of 2 to ``n_themes`` themes the most stable number is kept; themes are
#: shown only when its mean ARI is at least ``STABILITY_THRESHOLD``. (Comparing top words
#: instead is noisy: a theme's 6th to 8th words change with every sample even when the
#: theme does not.)
N_RESAMPLES = 10
STABILITY_THRESHOLD = 0.7
#: Language check: bias-corrected Cramér's V (Bergsma 2013) between the theme a comment is
#: given and its language (Dutch or French, from its stop words); themes that follow the
#: language rather than the subject (V at or above the threshold, a strong association) are
#: not shown. Bilingual subjects give V near 0, a pure language split V near 1.
LANGUAGE_THRESHOLD = 0.5


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


_WORD = re.compile(r"[^\W\d]+")


def detect_language(text: str) -> str | None:
    """``"nl"`` or ``"fr"`` by the larger number of Dutch / French stop words, else ``None``.

    >>> detect_language("De werkdruk was te hoog"), detect_language("La charge était lourde")
    ('nl', 'fr')
    """
    words = _WORD.findall(normalise(text))
    nl = sum(w in DUTCH_STOP_WORDS for w in words)
    fr = sum(w in FRENCH_STOP_WORDS for w in words)
    if nl == fr:
        return None
    return "nl" if nl > fr else "fr"


def cramers_v(a: Sequence, b: Sequence, *, bias_corrected: bool = True) -> float | None:
    """Cramér's V of two categorical sequences (None when one has a single level).

    V = sqrt(phi2 / min(r - 1, c - 1)), phi2 = chi2 / n with the Pearson statistic without
    continuity correction (scipy ``chi2_contingency(correction=False)``). With
    ``bias_corrected`` (Bergsma 2013, J. Korean Statistical Society 42: 323-328), small samples
    do not inflate it: phi2 -> max(0, phi2 - (r-1)(c-1)/(n-1)), r -> r - (r-1)^2/(n-1), and
    c likewise.
    """
    from scipy.stats import chi2_contingency

    table = pd.crosstab(pd.Series(list(a)), pd.Series(list(b))).to_numpy()
    r, c = table.shape
    if min(r, c) < 2:
        return None
    n = table.sum()
    phi2 = chi2_contingency(table, correction=False)[0] / n
    if not bias_corrected:
        return float(math.sqrt(phi2 / (min(r, c) - 1)))
    if n <= 1:
        return None
    phi2 = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    r_c, c_c = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
    return float(math.sqrt(phi2 / min(r_c - 1, c_c - 1)))


@dataclass
class Theme:
    theme_id: int
    top_terms: list[str]
    n_comments: int
    by_group: dict[str, int]
    suppressed: bool


@dataclass
class ThemesResult:
    """Themes, or why none are shown (``status``), with the checks that decided it.

    ``themes`` is empty unless ``status == "ok"``: a page then shows the recorded exit-reason
    categories alone and says why (too few comments, themes not stable, themes that follow the
    language). ``stability`` is the smallest theme stability of the model tried,
    ``language_v`` Cramér's V between theme and language, ``reason_agreement`` the adjusted
    Rand index between themes and recorded exit reasons (a diagnostic: 0 = no more agreement
    than chance, 1 = the same partition).
    """

    status: str
    message: str
    n_comments: int
    n_themes: int
    k: int
    themes: list[Theme] = field(default_factory=list)
    unassigned: int = 0
    stability: float | None = None
    stability_threshold: float = STABILITY_THRESHOLD
    n_resamples: int = N_RESAMPLES
    language_v: float | None = None
    language_threshold: float = LANGUAGE_THRESHOLD
    reason_agreement: float | None = None

    def checks(self) -> dict:
        """The checks as published next to the themes (no count, no comment)."""
        r = lambda v: None if v is None else round(float(v), 2)  # noqa: E731
        return {"status": self.status, "n_themes": self.n_themes,
                "stability": r(self.stability),
                "stability_threshold": self.stability_threshold,
                "n_resamples": self.n_resamples, "language_v": r(self.language_v),
                "language_threshold": self.language_threshold,
                "reason_agreement": r(self.reason_agreement)}

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


def _fit(x, n_themes: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    model = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=2000)
    w = model.fit_transform(x)
    return w, model.components_


def theme_stability(x, n_themes: int, *, n_resamples: int = N_RESAMPLES,
                    random_state: int = 0) -> float:
    """Split-half prediction stability of an ``n_themes`` model (see :data:`N_RESAMPLES`).

    ``n_resamples`` times (fixed seed) the comments are split at random into two disjoint
    halves, the model is fitted on each half, every comment is given the theme with the largest
    weight under each of the two models, and the two assignments are compared with the adjusted
    Rand index (sklearn ``adjusted_rand_score``: 1 = the same grouping, 0 = chance). Returns
    the mean over the splits.
    """
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(random_state)
    n = x.shape[0]
    scores = []
    for _ in range(n_resamples):
        order = rng.permutation(n)
        halves = (np.sort(order[: n // 2]), np.sort(order[n // 2:]))
        labels = []
        for half in halves:
            model = NMF(n_components=n_themes, init="nndsvda", random_state=random_state,
                        max_iter=2000).fit(x[half])
            labels.append(model.transform(x).argmax(axis=1))
        scores.append(adjusted_rand_score(labels[0], labels[1]))
    return float(np.mean(scores))


def find_themes(
    comments: Sequence[str] | pd.Series,
    groups: Sequence[str] | pd.Series | None = None,
    n_themes: int = 4,
    k: int = DEFAULT_MIN_CELL,
    min_comments: int = 20,
    min_term_comments: int = 3,
    top_n: int = 8,
    random_state: int = 0,
    *,
    reasons: Sequence[str] | pd.Series | None = None,
    n_resamples: int = N_RESAMPLES,
    stability_threshold: float = STABILITY_THRESHOLD,
    language_threshold: float = LANGUAGE_THRESHOLD,
) -> ThemesResult:
    """Themes in exit comments, shown only when they are stable and not a language split.

    Tries 2 to ``n_themes`` themes and keeps the most stable number (:func:`theme_stability`),
    if it passes ``stability_threshold``; then checks that the themes do not follow the
    language of the comments (Cramér's V < ``language_threshold``). Statuses:
    ``ok`` (themes with their terms and counts per group), ``too_few_comments`` (fewer than
    ``max(min_comments, n_themes * k)`` non-empty comments, or too few shared words),
    ``unstable`` (no number of themes is stable), ``language_split``. ``groups`` and
    ``reasons`` (recorded exit reasons, for the agreement diagnostic) have the comments'
    length; empty comments are ignored.
    """
    texts = pd.Series(list(comments), dtype=object).fillna("").astype(str)
    grp = pd.Series(list(groups) if groups is not None else ["all"] * len(texts), dtype=object)
    rsn = pd.Series(list(reasons) if reasons is not None else [None] * len(texts), dtype=object)
    if len(grp) != len(texts) or len(rsn) != len(texts):
        raise ValueError("comments, groups and reasons differ in length")
    keep = texts.str.strip().str.len() > 0
    texts = texts[keep].reset_index(drop=True)
    grp = grp[keep].fillna("unknown").astype(str).reset_index(drop=True)
    rsn = rsn[keep].reset_index(drop=True)
    n = len(texts)
    needed = max(min_comments, 2 * k)
    if n < needed:
        return ThemesResult(TOO_FEW, f"too few comments to find themes ({n} < {needed})", n,
                            0, k, n_resamples=n_resamples)
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
        return ThemesResult(TOO_FEW, "too few shared words to find themes", n, 0, k,
                            n_resamples=n_resamples)
    # At least k comments per theme on average and more words than themes.
    candidates = [m for m in range(n_themes, 1, -1) if n >= m * k and x.shape[1] > m]
    if not candidates:
        return ThemesResult(TOO_FEW, "too few comments or shared words to find themes", n, 0,
                            k, n_resamples=n_resamples)
    stability = {m: theme_stability(x, m, n_resamples=n_resamples, random_state=random_state)
                 for m in candidates}
    # The most stable number of themes (ties: the fewer themes).
    chosen = max(sorted(stability), key=lambda m: (stability[m], -m))
    if stability[chosen] < stability_threshold:
        return ThemesResult(UNSTABLE, f"no number of themes from {candidates[-1]} to "
                            f"{candidates[0]} is stable (best: {chosen} themes, split-half "
                            f"agreement {stability[chosen]:.2f} < {stability_threshold})", n,
                            chosen, k, stability=stability[chosen],
                            stability_threshold=stability_threshold, n_resamples=n_resamples,
                            language_threshold=language_threshold)
    w, components = _fit(x, chosen, random_state)
    assigned = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    languages = [detect_language(t) for t in texts]
    pairs = [(a, lang) for a, lang in zip(assigned, languages, strict=True)
             if a >= 0 and lang is not None]
    language_v = cramers_v([a for a, _ in pairs], [lang for _, lang in pairs]) if pairs else None
    agreement = None
    if reasons is not None:
        from sklearn.metrics import adjusted_rand_score

        known = [(a, r) for a, r in zip(assigned, rsn, strict=True)
                 if a >= 0 and isinstance(r, str) and r]
        if known:
            agreement = float(adjusted_rand_score([r for _, r in known], [a for a, _ in known]))
    common = dict(stability=stability[chosen], stability_threshold=stability_threshold,
                  n_resamples=n_resamples, language_v=language_v,
                  language_threshold=language_threshold, reason_agreement=agreement)
    if language_v is not None and language_v >= language_threshold:
        return ThemesResult(LANGUAGE_SPLIT, f"the themes follow the language of the comments "
                            f"(Cramér's V {language_v:.2f} >= {language_threshold})", n,
                            chosen, k, **common)
    terms = np.asarray(vec.get_feature_names_out())
    group_order = [g for g in BACKGROUNDS if g in set(grp)] + sorted(
        set(grp) - set(BACKGROUNDS))
    themes = []
    for i in range(chosen):
        mask = assigned == i
        count = int(mask.sum())
        suppressed = count < k
        weights = components[i]
        top = [] if suppressed else [
            str(terms[j]) for j in np.argsort(weights)[::-1][:top_n] if weights[j] > 0
        ]
        by_group = {g: int(((grp == g) & mask).sum()) for g in group_order}
        themes.append(Theme(i + 1, top, count, by_group, suppressed))
    themes.sort(key=lambda t: -t.n_comments)
    return ThemesResult(OK, "", n, chosen, k, themes, int((assigned == -1).sum()), **common)


__all__ = [
    "DUTCH_STOP_WORDS",
    "FRENCH_STOP_WORDS",
    "LANGUAGE_SPLIT",
    "LANGUAGE_THRESHOLD",
    "N_RESAMPLES",
    "OK",
    "STABILITY_THRESHOLD",
    "STATUSES",
    "STOP_WORDS",
    "TOO_FEW",
    "UNSTABLE",
    "Theme",
    "ThemesResult",
    "cramers_v",
    "detect_language",
    "find_themes",
    "normalise",
    "theme_stability",
    "to_concepts",
]
