"""A bounded schemathesis run against the OpenAPI description: no input makes the API fail (5xx).

Every operation gets a fixed number of generated requests (valid and invalid by the
schema), authenticated as an admin with the restricted compartment so that requests get
past the access checks into the code behind them. Bounded by example count, so it takes
seconds, and derandomized, so a failure is reproduced by running it again.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import melding
from tests.web_fixtures import Loketten

pytestmark = pytest.mark.slow
EXAMPLES = 15


def test_no_generated_request_makes_the_api_fail(loketten: Loketten):
    admin = loketten.als(loketten.token("fuzz", "admin", compartimenten=("radicalisering",)))
    # Meldingen to find, in each state, so generated commands also reach existing ones.
    ids = [
        loketten.client.post("/meldingen", json=melding(**overrides), headers=admin).json()["melding_id"]
        for overrides in ({"kenmerk": "F-1"}, {"kenmerk": "F-2", "gemeente": None}, {"soort": "x"},
                          {"kenmerk": "F-3", "soort": "radicalisering", "bron": "politie"},
                          {"kenmerk": "F-4", "soort": "wvggz", "gemeente": "Stein"})
    ]
    schema = schemathesis.openapi.from_asgi("/openapi.json", loketten.client.app)
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18

    def fuzz(operation) -> None:
        @given(case=operation.as_strategy(), known=st.sampled_from([None, *ids]))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case, known):
            if known is not None and "melding_id" in (case.path_parameters or {}):
                case.path_parameters["melding_id"] = known
            response = case.call(headers=admin)
            statuses[(operation.label, response.status_code)] += 1
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} for {case.as_curl_command()}")

        run()

    for operation in operations:
        fuzz(operation)

    summary = sorted(statuses.items())
    print("\n".join(f"{label}: {status} x{n}" for (label, status), n in summary))
    assert not failures, "\n".join(failures[:10])
    assert sum(statuses.values()) >= len(operations) * 3
    # The run reached past validation into the application, not only 4xx at the door.
    assert any(status < 300 for (_, status) in statuses)
