"""Feeds: scheduled, incremental pulls from remote TAXII 2.1 collections, MISP feeds, CSV and
text lists and local directories into a collection, with every run recorded.

Owns the ``feeds``, ``feed_items`` and ``feed_runs`` tables. Calls ``ribat.formats`` (to
convert what a source serves), ``ribat.intel`` (to store it), ``ribat.accounts`` (on whose
behalf) and ``ribat.db``. ``Feeds`` is the service; ``FeedScheduler`` runs due feeds in a
background thread of ``ribat serve``.
"""

from ribat.feeds._store_sql import SqlFeedStore
from ribat.feeds.fetch import Fetcher, FetchError
from ribat.feeds.runner import FeedScheduler, background_feeds
from ribat.feeds.service import Feeds, Progress
from ribat.feeds.store import FeedStore
from ribat.feeds.types import Credentials, Feed, FeedKind, FeedRun, RunStatus, RunTrigger

__all__ = [
    "Credentials",
    "Feed",
    "FeedKind",
    "FeedRun",
    "FeedScheduler",
    "FeedStore",
    "Feeds",
    "FetchError",
    "Fetcher",
    "Progress",
    "RunStatus",
    "RunTrigger",
    "SqlFeedStore",
    "background_feeds",
]
