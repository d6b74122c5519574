"""The API seed text's example answers and the fields they show, for every test that needs them."""

from __future__ import annotations

DOCUMENTED_RESULT_FIELDS = [
    "game",
    "operation",
    "multiplier",
    "time",
    "unit",
    "int",
    "seconds",
    "dom",
    "scheduledend_utc",
    "session",
    "penalty",
    "sum",
    "dices",
    "dicesops",
    "calc",
]

# The three response examples of the seed text, byte for byte in content.
SEED_LINK = """{
"ok": true,
"data": {
"game":"link",
"operation":"ADD",
"multiplier":1.37,
"time":3600,
"unit":"hour",
"int":1,
"seconds":3600,
"dom":0,
"scheduledend_utc":"2026-02-10 00:00:00",
"session":123,
"penalty":null
},
"meta":{"version":2}
}"""
SEED_DICE = """{
"ok": true,
"data": {
"game":"dice",
"operation":"SUB",
"time":7200,
"sum":-3,
"dices":[6,1,2],
"dicesops":["","s",""],
"calc":"+6-1+2",
"multiplier":1.11,
"seconds":7200,
"dom":0,
"scheduledend_utc":"2026-02-10 00:00:00",
"session":123
},
"meta":{"version":2}
}"""
SEED_LUCK = """{
"ok": true,
"data": {
"game":"luck",
"operation":"ADD",
"time":86400,
"int":1,
"multiplier":1.22,
"seconds":86400,
"dom":1,
"scheduledend_utc":"2026-02-11 00:00:00",
"session":123
},
"meta":{"version":2}
}"""
