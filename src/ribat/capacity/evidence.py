"""Evidence from the platform: figures drawn from what a country's teams did on the hub.

When a country is assessed, the hub offers computed evidence items for the indicators that name a metric
(``Indicator.evidence``). The figures come in as a ``ribat.intel.SharingActivity`` (``Intel.sharing_activity``
over the country's organisations and a window); this module turns them into :class:`MetricValue` records: the
figure as text with its unit, the number behind it, how many things it was computed over, the window, and a
description in words of what was counted. The assessment service stores them as proposed evidence
(``ribat.capacity.assessment.Evidence`` of kind ``platform``).

Pure: no I/O. The definitions, the window and the TLP rule are in ``docs/capacity-evidence.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from ribat.capacity.types import LANGUAGES, Text
from ribat.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ribat.intel import SharingActivity

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "METRICS",
    "METRIC_IDS",
    "Metric",
    "MetricValue",
    "Window",
    "measure",
    "window_for",
]

DEFAULT_WINDOW_DAYS = 365
_US_PER_DAY = 86_400_000_000


class Window(NamedTuple):
    """``[start_us, end_us)``: what was added to the hub from ``start_us`` up to, not including, ``end_us``."""

    start_us: int
    end_us: int


def window_for(end_us: int, days: int = DEFAULT_WINDOW_DAYS) -> Window:
    """The ``days`` days that end at ``end_us`` (excluded)."""
    if days < 1:
        raise ValidationError("days", f"must be at least 1, not {days}")
    return Window(end_us - days * _US_PER_DAY, end_us)


@dataclass(frozen=True)
class MetricValue:
    """One metric measured over one window: what a platform evidence item records.

    ``value`` is the figure as text with its unit (or says that there was nothing to measure); ``number`` is the
    figure itself (``None`` when there was nothing to measure and a zero would mislead); ``measured`` is how many
    things it was computed over; ``query`` says in words what was counted, over which organisations and window.
    """

    metric: str
    value: str
    number: float | None
    measured: int
    window_start_us: int
    window_end_us: int
    query: str


_Figure = tuple[str, float | None, int]  # value text, number, measured


@dataclass(frozen=True)
class Metric:
    """A metric the platform can offer as evidence. ``query`` is the description in words, in each language,
    with ``{organisations}``, ``{start}`` and ``{end}`` to fill in."""

    id: str
    title: Text
    query: Text
    figure: Callable[[SharingActivity, str], _Figure]

    def measure(
        self, activity: SharingActivity, *, organisations: Sequence[str] | None = None, language: str = "en"
    ) -> MetricValue:
        """The metric over ``activity`` (its window is the activity's). ``organisations`` are the names to show
        in the description (the organisation ids when not given); ``language`` is ``en``, ``ar`` or ``fr``
        (English for any other)."""
        lang = language if language in LANGUAGES else "en"
        value, number, measured = self.figure(activity, lang)
        names = list(organisations) if organisations else list(activity.org_ids)
        query = self.query[lang].format(
            organisations=_LIST_SEPARATOR[lang].join(names),
            start=_moment(activity.start_us),
            end=_moment(activity.end_us),
        )
        return MetricValue(
            metric=self.id,
            value=value,
            number=number,
            measured=measured,
            window_start_us=activity.start_us,
            window_end_us=activity.end_us,
            query=query,
        )


# -- formatting ---------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIST_SEPARATOR = {"en": ", ", "fr": ", ", "ar": "، "}
_NARROW_NBSP = "\u202f"


def _moment(us: int) -> str:
    """A window bound: the date, and the time when it is not midnight (UTC)."""
    at = _EPOCH + timedelta(microseconds=us)
    if (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0):
        return at.strftime("%Y-%m-%d")
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _int(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", _NARROW_NBSP) if lang == "fr" else text


def _dec(x: float, lang: str) -> str:
    text = f"{x:,.1f}"
    if lang == "fr":
        return text.replace(",", _NARROW_NBSP).replace(".", ",")
    return text


def _en(n: int, singular: str, plural: str) -> str:
    return f"{_int(n, 'en')} {singular if n == 1 else plural}"


def _fr(n: int, singular: str, plural: str) -> str:
    """French takes the singular below 2."""
    return f"{_int(n, 'fr')} {singular if n < 2 else plural}"


def _duration(hours: float, lang: str) -> str:
    """Minutes below an hour, hours below three days, days beyond."""
    if hours < 1:
        minutes = round(hours * 60)
        return {"en": f"{minutes} min", "fr": f"{minutes} min", "ar": f"{minutes} دقيقة"}[lang]
    if hours < 72:
        x = _dec(hours, lang)
        return {
            "en": f"{x} hours" if x != "1.0" else "1.0 hour",
            "fr": f"{x} heures" if hours >= 2 else f"{x} heure",
            "ar": f"{x} ساعة",
        }[lang]
    x = _dec(hours / 24, lang)
    return {"en": f"{x} days", "fr": f"{x} jours", "ar": f"{x} يوم"}[lang]


def _percent(share: float, lang: str) -> str:
    """One decimal at most; a share too small to show is "<0.1%", never a misleading "0%"."""
    pct = round(share * 100, 1)
    if pct == 0 and share > 0:
        x = "<" + _dec(0.1, lang)
    else:
        x = _int(int(pct), lang) if pct == int(pct) else _dec(pct, lang)
    return f"{x}{_NARROW_NBSP}%" if lang == "fr" else f"{x}%"


_NOTHING_SHARED = {
    "en": "no objects shared in the window",
    "ar": "لم تُشارَك أي كائنات خلال الفترة",
    "fr": "aucun objet partagé dans la période",
}


# -- the metrics --------------------------------------------------------------------------------


def _volume(a: SharingActivity, lang: str) -> _Figure:
    if a.versions == 0:
        return _NOTHING_SHARED[lang], 0.0, 0
    if lang == "ar":
        value = (
            f"الكائنات المُشارَكة: {_int(a.objects, lang)} (الإصدارات: {_int(a.versions, lang)}؛ "
            f"مؤشرات: {_int(a.indicators, lang)}، بلاغات رصد: {_int(a.sightings, lang)}، "
            f"تقارير: {_int(a.reports, lang)}، بيانات مرصودة: {_int(a.observed_data, lang)}، "
            f"أخرى: {_int(a.other, lang)})"
        )
    elif lang == "fr":
        objects = f"{_int(a.objects, lang)} {'objet partagé' if a.objects < 2 else 'objets partagés'}"
        kinds = ", ".join(
            [
                _fr(a.indicators, "indicateur", "indicateurs"),
                _fr(a.sightings, "observation", "observations"),
                _fr(a.reports, "rapport", "rapports"),
                _fr(a.observed_data, "donnée observée", "données observées"),
                _fr(a.other, "autre", "autres"),
            ]
        )
        value = f"{objects} ({_fr(a.versions, 'version', 'versions')}{_NARROW_NBSP}: {kinds})"
    else:
        kinds = ", ".join(
            [
                _en(a.indicators, "indicator", "indicators"),
                _en(a.sightings, "sighting", "sightings"),
                _en(a.reports, "report", "reports"),
                f"{_int(a.observed_data, lang)} observed-data",
                f"{_int(a.other, lang)} other",
            ]
        )
        objects = _en(a.objects, "object", "objects")
        value = f"{objects} shared ({_en(a.versions, 'version', 'versions')}: {kinds})"
    return value, float(a.objects), a.versions


def _timeliness(a: SharingActivity, lang: str) -> _Figure:
    median, p90, n = a.timeliness_median_hours, a.timeliness_p90_hours, a.timeliness_measured
    if a.versions == 0:
        return _NOTHING_SHARED[lang], None, 0
    if n == 0 or median is None or p90 is None:
        return (
            {
                "en": "none of the objects first shared in the window states when it was first seen",
                "ar": "لا يذكر أيٌّ من الكائنات المُشارَكة لأول مرة خلال الفترة وقت رصده الأول",
                "fr": (
                    "aucun des objets partagés pour la première fois dans la période "
                    "n'indique quand il a été observé pour la première fois"
                ),
            }[lang],
            None,
            0,
        )
    m, p = _duration(median, lang), _duration(p90, lang)
    value = {
        "en": f"median {m}, 90th percentile {p} ({_en(n, 'object', 'objects')} measured)",
        "ar": f"الوسيط: {m}، المئين التسعون: {p} (عدد الكائنات المقيسة: {_int(n, lang)})",
        "fr": (f"médiane {m}, 90e centile {p} ({_fr(n, 'objet mesuré', 'objets mesurés')})"),
    }[lang]
    return value, median, n


def _sighting_feedback(a: SharingActivity, lang: str) -> _Figure:
    share, n, k = a.sighted_share, a.indicator_objects, a.sighted_indicators
    if share is None:
        return (
            {
                "en": "no indicators shared in the window",
                "ar": "لم تُشارَك أي مؤشرات خلال الفترة",
                "fr": "aucun indicateur partagé dans la période",
            }[lang],
            None,
            0,
        )
    pct = _percent(share, lang)
    value = {
        "en": f"{pct} of shared indicators sighted ({_int(k, lang)} of {_int(n, lang)})",
        "ar": f"نسبة المؤشرات المُشارَكة التي رُصدت: {pct} ({_int(k, lang)} من {_int(n, lang)})",
        "fr": f"{pct} des indicateurs partagés observés ({_int(k, lang)} sur {_int(n, lang)})",
    }[lang]
    return value, share * 100, n


def _federation(a: SharingActivity, lang: str) -> _Figure:
    n, users = a.federated_objects, a.federation_users
    if n == 0:
        return (
            {
                "en": "no objects received through peer-hub accounts in the window",
                "ar": "لم تَرِد أي كائنات عبر حسابات المنصات النظيرة خلال الفترة",
                "fr": "aucun objet reçu via des comptes de plateformes pairs dans la période",
            }[lang],
            0.0,
            0,
        )
    value = {
        "en": (f"{_en(n, 'object', 'objects')} received through {_en(users, 'peer-hub account', 'peer-hub accounts')}"),
        "ar": f"الكائنات الواردة عبر حسابات المنصات النظيرة: {_int(n, lang)} (عدد الحسابات: {_int(users, lang)})",
        "fr": (
            f"{_fr(n, 'objet reçu', 'objets reçus')} via "
            f"{_fr(users, 'compte de plateforme pair', 'comptes de plateformes pairs')}"
        ),
    }[lang]
    return value, float(n), n


_METRICS = (
    Metric(
        id="sharing.volume",
        title=MappingProxyType(
            {
                "en": "Threat intelligence shared on the hub",
                "ar": "معلومات التهديدات المُشارَكة عبر المنصة",
                "fr": "Renseignement sur les menaces partagé sur la plateforme",
            }
        ),
        query=MappingProxyType(
            {
                "en": (
                    "STIX object versions authored by {organisations} and added to the hub from {start} to {end} "
                    "(end excluded), deleted versions left out; a version stored in several collections counts "
                    "once; counted by kind (indicator, sighting, report, observed-data, other) and by distinct "
                    "object."
                ),
                "ar": (
                    "إصدارات كائنات STIX التي أعدّتها {organisations} وأُضيفت إلى المنصة من {start} إلى {end} "
                    "(النهاية غير مشمولة)، باستثناء الإصدارات المحذوفة؛ ويُحتسب الإصدار المحفوظ في عدة "
                    "مجموعات مرة واحدة؛ ويجري العدّ حسب النوع (مؤشر، بلاغ رصد، تقرير، بيانات مرصودة، غير ذلك) "
                    "وحسب الكائنات المتمايزة."
                ),
                "fr": (
                    "Versions d'objets STIX rédigées par {organisations} et ajoutées à la plateforme du {start} "
                    "au {end} (fin exclue), hors versions supprimées ; une version conservée dans plusieurs "
                    "collections compte une fois ; décompte par type (indicateur, observation, rapport, données "
                    "observées, autre) et par objet distinct."
                ),
            }
        ),
        figure=_volume,
    ),
    Metric(
        id="sharing.timeliness",
        title=MappingProxyType(
            {
                "en": "Time from first seen to shared",
                "ar": "المدة بين أول رصد والمشاركة",
                "fr": "Délai entre la première observation et le partage",
            }
        ),
        query=MappingProxyType(
            {
                "en": (
                    "For each object first shared on the hub by {organisations} from {start} to {end} (end "
                    "excluded) that states when it was first seen (indicator valid_from, sighting first_seen, "
                    "observed-data first_observed): the time from then to when it was added to the hub, negative "
                    "times left out; the median and the 90th percentile (nearest rank)."
                ),
                "ar": (
                    "لكل كائن شاركته {organisations} على المنصة لأول مرة من {start} إلى {end} (النهاية غير "
                    "مشمولة) ويذكر وقت رصده الأول (valid_from في المؤشر، وfirst_seen في بلاغ الرصد، "
                    "وfirst_observed في البيانات المرصودة): المدة من ذلك الوقت حتى إضافته إلى المنصة، مع "
                    "استبعاد المدد السالبة؛ ثم الوسيط والمئين التسعون (بطريقة أقرب رتبة)."
                ),
                "fr": (
                    "Pour chaque objet partagé pour la première fois sur la plateforme par {organisations} du "
                    "{start} au {end} (fin exclue) et qui indique quand il a été observé pour la première fois "
                    "(valid_from d'un indicateur, first_seen d'une observation, first_observed de données "
                    "observées) : le délai entre ce moment et son ajout à la plateforme, délais négatifs écartés ; "
                    "la médiane et le 90e centile (méthode du rang le plus proche)."
                ),
            }
        ),
        figure=_timeliness,
    ),
    Metric(
        id="sharing.sighting_feedback",
        title=MappingProxyType(
            {
                "en": "Shared indicators sighted on the hub",
                "ar": "المؤشرات المُشارَكة التي رُصدت عبر المنصة",
                "fr": "Indicateurs partagés ayant fait l'objet d'observations sur la plateforme",
            }
        ),
        query=MappingProxyType(
            {
                "en": (
                    "Distinct indicators authored by {organisations} with a version added to the hub from {start} "
                    "to {end} (end excluded), and how many of them are named (sighting_of_ref) by at least one "
                    "sighting added before {end} that the authoring organisation may itself read: in a collection "
                    "it may read, and under TLP as the organisation and its trust circles, so that TLP:RED "
                    "sightings never count."
                ),
                "ar": (
                    "المؤشرات المتمايزة التي أعدّتها {organisations} وأُضيف لها إصدار إلى المنصة من {start} إلى "
                    "{end} (النهاية غير مشمولة)، وعدد ما يُشار إليه منها (sighting_of_ref) في بلاغ رصد واحد "
                    "على الأقل أُضيف قبل {end} ويحق للجهة المُعِدّة نفسها قراءته: في مجموعة يحق لها قراءتها، "
                    "ووفق بروتوكول إشارات المرور (TLP) بصفتها جهةً مع دوائر الثقة التي تنتمي إليها؛ لذا لا "
                    "تُحتسب بلاغات الرصد المصنفة TLP:RED أبدًا."
                ),
                "fr": (
                    "Indicateurs distincts rédigés par {organisations} dont une version a été ajoutée à la "
                    "plateforme du {start} au {end} (fin exclue), et combien d'entre eux sont désignés "
                    "(sighting_of_ref) par au moins une observation ajoutée avant le {end} que l'organisation "
                    "autrice peut elle-même lire : dans une collection qu'elle peut lire et, selon le TLP, en tant "
                    "qu'organisation avec ses cercles de confiance ; les observations TLP:RED ne comptent donc "
                    "jamais."
                ),
            }
        ),
        figure=_sighting_feedback,
    ),
    Metric(
        id="federation.participation",
        title=MappingProxyType(
            {
                "en": "Participation in hub federation",
                "ar": "المشاركة في الربط بين المنصات",
                "fr": "Participation à la fédération des plateformes",
            }
        ),
        query=MappingProxyType(
            {
                "en": (
                    "Distinct objects added to the hub from {start} to {end} (end excluded), deleted versions left "
                    "out, by the peer-hub service accounts (role sync) of {organisations}, and how many of those "
                    "accounts wrote them."
                ),
                "ar": (
                    "الكائنات المتمايزة التي أضافتها إلى المنصة من {start} إلى {end} (النهاية غير مشمولة) "
                    "حساباتُ الخدمة الخاصة بالمنصات النظيرة (الدور sync) التابعة لـ{organisations}، باستثناء "
                    "الإصدارات المحذوفة، وعدد تلك الحسابات التي أضافتها."
                ),
                "fr": (
                    "Objets distincts ajoutés à la plateforme du {start} au {end} (fin exclue), hors versions "
                    "supprimées, par les comptes de service de plateformes pairs (rôle sync) de {organisations}, "
                    "et nombre de ces comptes qui les ont écrits."
                ),
            }
        ),
        figure=_federation,
    ),
)

METRICS: Mapping[str, Metric] = MappingProxyType({m.id: m for m in _METRICS})
"""The metrics the platform can offer, by id, in a stable order."""

METRIC_IDS: frozenset[str] = frozenset(METRICS)
"""The metric ids an indicator of a model may name in its ``evidence`` list."""


def measure(
    metric_id: str,
    activity: SharingActivity,
    *,
    organisations: Sequence[str] | None = None,
    language: str = "en",
) -> MetricValue:
    """``METRICS[metric_id].measure(...)``; an unknown id is not found."""
    metric = METRICS.get(metric_id)
    if metric is None:
        raise NotFoundError("metric", metric_id)
    return metric.measure(activity, organisations=organisations, language=language)
