import json

from actors.encoder import REJECTED_ACTOR, REJECTED_BODY, REJECTION, GuardedJSONEncoder

ENCODER = GuardedJSONEncoder(max_bytes=1024)
GOOD = {
    "queue_name": "refresh",
    "actor_name": "a",
    "args": [],
    "kwargs": {},
    "options": {},
    "message_id": "m",
    "message_timestamp": 1,
}


def test_good_envelope_round_trips():
    assert ENCODER.decode(ENCODER.encode(GOOD)) == GOOD


def test_unreadable_bodies_become_placeholders_that_keep_the_exact_bytes():
    for body, reason in [
        (b"\xff\x00{", "undecodable"),
        (b"[1]", "malformed_envelope"),
        (json.dumps({**GOOD, "kwargs": {"x": "y" * 2000}}).encode(), "oversized"),
    ]:
        placeholder = ENCODER.decode(body)
        assert placeholder["actor_name"] == REJECTED_ACTOR
        assert placeholder["options"][REJECTION]["reason"] == reason
        assert placeholder["options"][REJECTED_BODY].encode("latin-1") == body
