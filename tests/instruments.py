"""A made-up STarT Back file in the shape of the licensed one a clinic adds (the real wording is Keele's)."""

KEELE_KEYS = ["leg_pain", "shoulder_neck", "walking", "dressing", "fear", "worry", "catastrophising", "low_mood",
              "bothersome"]
BOTHER_POINTS = [("not_at_all", 0), ("slightly", 0), ("moderately", 0), ("very_much", 1), ("extremely", 1)]


def quoted(keys) -> str:
    return "[" + ", ".join(f'"{key}"' for key in keys) + "]"


START_BACK_TOML = (
    'key = "start_back"\ntitle = "A few more questions"\nlicence = "Licensed to this clinic (test)."\n'
    'notice = "Test notice: copyright its owner, used with permission."\nintro = "Over the last two weeks:"\n'
    + "".join(
        f'[[items]]\nkey = "{key}"\ntext = "Made-up statement {n}"\n'
        '[[items.choices]]\nvalue = "agree"\nlabel = "Agree"\npoints = 1\n'
        '[[items.choices]]\nvalue = "disagree"\nlabel = "Disagree"\npoints = 0\n'
        for n, key in enumerate(KEELE_KEYS[:8], start=1)
    )
    + '[[items]]\nkey = "bothersome"\ntext = "How bothersome, overall?"\n'
    + "".join(f'[[items.choices]]\nvalue = "{v}"\nlabel = "{v}"\npoints = {p}\n' for v, p in BOTHER_POINTS)
    + f'[[scores]]\nkey = "risk"\nlabel = "Risk"\nrule = "start_back"\nitems = {quoted(KEELE_KEYS)}\n'
    + f"[scores.params]\npsychosocial = {quoted(KEELE_KEYS[4:])}\n"
)
