"""Find offers that several platforms (or one platform twice) list, and merge them.

Pure: no database, network or clock. Entry points:

* `cluster_offers(offers, previous=…, overrides=…)` → list of `Cluster`; with
  ``previous_clusters=…, changed_keys=…`` only what a re-crawl touched is re-clustered;
* `explain(a, b)` → `Explanation` of one pair;
* `resolve_providers(offers)` → provider entity id per member key (also in every
  cluster's ``fields["provider_id"]``);
* `load_overrides(path)` / `parse_overrides(text)` → `Overrides` (the only I/O).

Offers are any objects with the attributes of ``normalize.NormalizedOffer``
(see `dedupe.model.OfferLike`; `dedupe.testing.SimpleOffer` is a small stand-in).

Stages: `dedupe.keys` (German-aware comparison keys) → `dedupe.blocking` (candidate
pairs as numpy index arrays, about linear in the number of offers) → vectorised exact
screens (`dedupe.core.screen_pairs`) → `dedupe.scoring` (per-field similarities,
weighted score, gates, `decide`) → `dedupe.clustering` (strongest pairs first, merged
only while average and minimum linkage hold: no chaining; stable ids) → `dedupe.merge`
(chosen value and per-member provenance for every field).
"""

from dedupe.blocking import BlockingConfig, BlockingStats, blocking_stats, candidate_pairs
from dedupe.core import Cluster, Explanation, cluster_offers, explain
from dedupe.merge import MergedField
from dedupe.model import OfferLike, member_key, prepare
from dedupe.overrides import Overrides, OverridesError, load_overrides, parse_overrides
from dedupe.providers import provider_key, resolve_providers
from dedupe.scoring import MATCH_THRESHOLD, compare, decide

__all__ = [
    "MATCH_THRESHOLD",
    "BlockingConfig",
    "BlockingStats",
    "Cluster",
    "Explanation",
    "MergedField",
    "OfferLike",
    "Overrides",
    "OverridesError",
    "blocking_stats",
    "candidate_pairs",
    "cluster_offers",
    "compare",
    "decide",
    "explain",
    "load_overrides",
    "member_key",
    "parse_overrides",
    "prepare",
    "provider_key",
    "resolve_providers",
]
