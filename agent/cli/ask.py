"""`formscout ask "why a 2 on left hurdle step?" [--athlete ID | --run RUN_DIR_OR_TRACE] [--json]`.

Answers the question asked (agent/chat: why this score, why review, is this the
test, what to film next, left vs right, change since the last screen, what a
criterion means), from the run's trace: the run by its one name, the headline,
the criterion that decided (measured value against threshold, frame), the
rubric passages quoted with id and text, similar physio-scored clips. A
question out of scope gets the "I can answer ..." list, one it cannot ground a
question back (exit 0; `status: clarify` in --json). With --brain qwen3-vl or
remote the brain recognises the intent and re-words the answer, kept only if
every number it states is in the answer.
"""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("ask", help="ask about a screening run (\"why a 2 on left hurdle step?\")",
                       description="Answer a physio's question from a run's trace, or ask back when it cannot be "
                                   "grounded. Never invents a number.")
    p.add_argument("question", help="the question, in quotes")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--athlete", default="", help="athlete id: use the latest run of that test and side")
    who.add_argument("--run", default="", help="a run folder (with trace.json) or a trace file")
    p.add_argument("--db", default="", help="catalog file (default: FORMSCOUT_DB or ~/.formscout)")
    p.add_argument("--brain", default="protocol", help="protocol (default: plain wording), qwen3-vl or remote")
    p.add_argument("--brain-model-path", default="", help="qwen3-vl: local checkpoint folder")
    p.add_argument("--brain-url", default="", help="remote: OpenAI-compatible server URL")
    p.add_argument("--brain-model", default="", help="remote: model name")
    p.add_argument("--json", action="store_true", help="print the structured answer as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent.chat.answer import ask, phrase_with_brain
    from agent.cli.screen import brain_options
    options = brain_options(args)          # refuses --brain-* options that do not fit --brain
    brain = None
    if args.brain != "protocol":
        from agent.screening.brains import make_brain
        brain = make_brain(args.brain, **options)
    answer = ask(args.question, athlete_id=args.athlete or None, run=args.run or None, db=args.db or None,
                 brain=brain)
    if brain is not None and answer.status == "answered":
        answer = phrase_with_brain(answer, brain)
    if args.json:
        print(json.dumps(answer.to_dict(), default=str))
    else:
        print(answer.text)
    return 0
