"""Every assessment route as every role: allowed roles pass the role check, the others are refused
(401 for the anonymous public, 403 otherwise), and no call answers 5xx — even with an empty body."""

from __future__ import annotations

import uuid

from services.chassis.auth import ROLES
from tests.service.gateway.matrix import role_headers, service_routes


async def test_route_role_matrix_on_the_assessment_service(cluster) -> None:
    c = await cluster("assessment")
    cases = service_routes("assessment", c.apps["assessment"])
    assert cases and all(case.allowed is not None for case in cases), [str(x) for x in cases if x.allowed is None]
    headers = role_headers(c.ring)
    problems = []
    for case in cases:
        for role in ROLES:
            h = {**headers[role], "Idempotency-Key": uuid.uuid4().hex}
            kw = {"json": {}} if case.method == "POST" else {}
            r = await c.clients["assessment"].request(case.method, case.concrete_path(), headers=h, **kw)
            where = f"{case} as {role}: {r.status_code} {r.text[:160]}"
            assert case.allowed is not None
            if r.status_code >= 500:
                problems.append(f"server error — {where}")
            elif role in case.allowed and r.status_code in (401, 403) and r.json().get("code", "").startswith("auth."):
                problems.append(f"allowed but refused — {where}")
            elif role not in case.allowed and role == "public" and r.status_code != 401:
                problems.append(f"anonymous not refused — {where}")
            elif role not in case.allowed and role != "public" and r.status_code != 403:
                problems.append(f"not refused — {where}")
    assert not problems, "\n".join(problems)
