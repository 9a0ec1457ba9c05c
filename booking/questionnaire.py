"""The back-pain questionnaire: the intake's questions, one form per step, the progress check
asked before a later visit, and how the answers read back. Labels here are also what Check
your answers shows, and what the practitioner and the rights pages read."""

from __future__ import annotations

from datetime import date, timedelta

from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.measures import intake as intake_rules
from booking.measures.intake import AFTER_EFFECTS
from booking.forms import CheckboxChoices, Choice, JourneyForm, SafetyForm, options
from booking.validation import whole_number

NONE = "none"
YES_NO = [("yes", "Yes"), ("no", "No")]
YES_NO_UNSURE = [("yes", "Yes"), ("no", "No"), ("not_sure", "I'm not sure")]
ZERO_TO_TEN = [(str(n), str(n)) for n in range(11)]

HOW_IT_STARTED = {
    "lifting": "Lifting something",
    "twisting": "Twisting or turning",
    "home_job": "A big job at home, such as gardening, painting or DIY",
    "sport": "Sport or exercise",
    "fall": "A fall or an accident",
    "no_cause": "No clear cause",
    "other": "Something else",
}
SIDES = {"left": "Left side", "right": "Right side", "both": "Both sides", "centre": "In the middle"}
SPREADS = {"buttock": "Into the buttock", "thigh": "Into the thigh", "below_knee": "Below the knee", "foot": "Into the foot"}
LEGS = {"no": "No", "left": "Yes, my left leg", "right": "Yes, my right leg", "both": "Yes, both legs"}
LEGS_CHANGING = {
    intake_rules.LEGS_CHANGING: "Yes: they are new in the last few weeks, or getting worse",
    intake_rules.LEGS_UNCHANGED: "No: I have had them for a while and they are not changing",
}
POSITIONS = {
    "sitting": "Sitting",
    "standing": "Standing",
    "walking": "Walking",
    "bending": "Bending",
    "lying": "Lying down",
    "coughing": "Coughing or sneezing",
}
IMAGING = {"none": "No", "xray": "Yes, an X-ray", "mri": "Yes, an MRI scan", "both": "Yes, an X-ray and an MRI scan"}
TREATMENTS = {
    "physio": "Physiotherapy",
    "chiropractic": "Chiropractic",
    "massage": "Massage",
    "medication": "Medicines",
    "injections": "Injections",
    "surgery": "Surgery",
    "acupuncture": "Acupuncture",
}
# Asked in the patient's words; the practitioner sees PRECAUTIONS and RISK_FACTORS wording.
ASKED_PRECAUTIONS = {
    "pregnant": "I am pregnant, or might be",
    "bleeding_disorder": "I have a bleeding disorder, such as hemophilia",
    "implanted_device": "I have a pacemaker, defibrillator or another implanted electrical device",
    "needle_fear": "I am afraid of needles",
    "fainting": "I have fainted before, for any reason, or I faint easily",
    "lymphoedema": "I have lymphedema (long-lasting swelling of an arm or leg), or have had lymph nodes removed",
    "metal_allergy": "I am allergic to metals such as nickel",
    "skin_problem": "I have an infection or broken skin on my lower back",
    "epilepsy": "I have epilepsy",
    "diabetes": "I have diabetes",
    "weak_immunity": "My immune system is weakened, for example by chemotherapy or steroid medicines",
}
ASKED_RISK_FACTORS = {
    "cancer_history": "Cancer, at any time",
    "steroids": "Steroid tablets or injections for 3 months or more",
    "osteoporosis": "Osteoporosis (thin, weak bones)",
    "recent_infection": "An infection in the last few weeks",
}
PSFS_ROWS = 5
TEXT_LIMIT = 500


def example_date(today: date) -> str:
    """A believable past date to show as an example, e.g. "14 9 2026"."""
    shown = today - timedelta(days=60)
    return f"{shown.day} {shown.month} {shown.year}"


def limited(limit: int, what: str):
    """A validator: at most `limit` characters, said in words."""

    def check(form, field):
        field.data = (field.data or "").strip()
        if len(field.data) > limit:
            raise ValidationError(f"{what} must be {limit} characters or fewer")

    return check


def none_alone(label: str, question: str):
    """A validator: the 'none' answer cannot be ticked together with anything else."""

    def check(form, field):
        if NONE in (field.data or []) and len(field.data) > 1:
            raise ValidationError(f"{question}: select '{label}' only if nothing else applies")

    return check


class EpisodeForm(JourneyForm):
    start_kind = Choice(
        "When did this episode of back pain start?",
        choices=options([("date", "On a date I can give"), ("weeks", "I can say roughly how many weeks ago")]),
        message="Select whether you can give a date or a number of weeks",
    )
    start_day = StringField("Day")
    start_month = StringField("Month")
    start_year = StringField("Year")
    weeks_ago = StringField("About how many weeks ago?")
    how = Choice("How did it start?", choices=options(HOW_IT_STARTED.items()), message="Select how your back pain started")
    how_other = StringField("If something else, tell us what (optional)", validators=[limited(200, "This answer")])

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.started_on: date | None = None
        self.weeks: int | None = None

    def validate_start_day(self, field):
        if self.start_kind.data != "date":
            return
        parts = [self.start_day.data, self.start_month.data, self.start_year.data]
        try:
            day, month, year = (whole_number(p) for p in parts)
            if None in (day, month, year) or len(parts[2].strip()) != 4:
                raise ValueError
            started = date(year, month, day)
        except (ValueError, OverflowError):
            raise ValidationError(f"Enter the date the pain started as day, month and year, like {example_date(self.today)}") from None
        if started > self.today:
            raise ValidationError("The date the pain started must be today or in the past")
        self.started_on = started

    def validate_weeks_ago(self, field):
        if self.start_kind.data != "weeks":
            return
        weeks = whole_number(field.data)
        if weeks is None or not 0 <= weeks <= 1040:
            raise ValidationError("Enter the number of weeks as a whole number from 0 to 1040, like 6")
        self.weeks = weeks

    def answers(self) -> dict:
        # "About 3 weeks ago" is turned into a date now, so the duration stays right if
        # the patient sends the answers days later.
        started = self.started_on or self.today - timedelta(weeks=self.weeks)
        return {
            "started_on": started.isoformat(),
            "estimated": self.started_on is None,
            "weeks_ago": self.weeks,
            "how": self.how.data,
            "how_other": self.how_other.data,
        }


class WhereForm(JourneyForm):
    side = Choice("Where in your lower back is the pain?", choices=options(SIDES.items()), message="Select where the pain is")
    spreads = CheckboxChoices(
        "Does the pain spread anywhere else?",
        choices=options([*SPREADS.items(), (NONE, "No, it stays in my back")]),
        validators=[none_alone("No, it stays in my back", "Where the pain spreads")],
    )
    leg_symptoms = Choice(
        "Do you have numbness or tingling in a leg?",
        choices=options(LEGS.items()),
        message="Select whether you have numbness or tingling in a leg",
    )
    leg_weakness = Choice(
        "Does a leg or foot feel weak?",
        choices=options(LEGS.items()),
        message="Select whether a leg or foot feels weak",
    )
    legs_changing = Choice(
        "If you have any of these leg symptoms, are they new or getting worse?",
        choices=options(LEGS_CHANGING.items()),
        message="Select whether your leg symptoms are new or getting worse",
        optional=True,
    )

    def validate_spreads(self, field):
        if not field.data:
            raise ValidationError("Select where the pain spreads, or that it stays in your back")

    def validate_legs_changing(self, field):
        if self.has_leg_symptoms and not field.data:
            raise ValidationError(field.message)

    @property
    def has_leg_symptoms(self) -> bool:
        return any(answer in ("left", "right", "both") for answer in (self.leg_symptoms.data, self.leg_weakness.data))

    def answers(self) -> dict:
        return {
            "side": self.side.data,
            "spreads": [s for s in self.spreads.data if s != NONE],
            "leg_symptoms": self.leg_symptoms.data,
            "leg_weakness": self.leg_weakness.data,
            # Asked only about symptoms someone has: an answer beside "No" and "No" is dropped.
            "legs_changing": self.legs_changing.data if self.has_leg_symptoms else None,
        }


class HistoryForm(JourneyForm):
    worse = CheckboxChoices("What makes it worse? (optional)", choices=options(POSITIONS.items()))
    better = CheckboxChoices("What makes it better? (optional)", choices=options(POSITIONS.items()))
    morning_stiffness = Choice("Is your back stiff in the morning?", choices=options(YES_NO), message="Select yes or no")
    previous_episodes = Choice(
        "Have you had back pain like this before?", choices=options(YES_NO),
        message="Select whether you have had back pain like this before",
    )
    imaging = Choice("Have you had an X-ray or a scan of your back?", choices=options(IMAGING.items()),
                     message="Select whether you have had an X-ray or a scan")
    imaging_findings = TextAreaField("What did it show? (optional)", validators=[limited(TEXT_LIMIT, "This answer")])
    treatments = CheckboxChoices("What have you already tried for your back? (optional)", choices=options(TREATMENTS.items()))

    def answers(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "worse", "better", "morning_stiffness", "previous_episodes", "imaging", "imaging_findings", "treatments")}


class HealthForm(JourneyForm):
    medications = TextAreaField("Which medicines do you take at the moment? (optional)",
                                validators=[limited(1000, "The list of medicines")])
    blood_thinners = Choice(
        "Do you take blood thinners (anticoagulants), such as warfarin, apixaban or rivaroxaban?",
        choices=options(YES_NO_UNSURE), message="Select whether you take blood thinners",
    )
    antiplatelets = Choice(
        "Do you take a medicine that stops blood clots forming (an antiplatelet), such as clopidogrel, "
        "ticagrelor or a daily low-dose aspirin?",
        choices=options(YES_NO_UNSURE), message="Select whether you take an antiplatelet medicine",
    )
    precautions = CheckboxChoices(
        "Do any of these apply to you?",
        choices=options([*ASKED_PRECAUTIONS.items(), (NONE, "None of these")]),
        validators=[none_alone("None of these", "Things that apply to you")],
    )
    lymph_limb = StringField("If you have lymphedema or had lymph nodes removed: which arm or leg? (optional)",
                             validators=[limited(100, "Which arm or leg")])
    risk_factors = CheckboxChoices(
        "Have you had any of these?",
        choices=options([*ASKED_RISK_FACTORS.items(), (NONE, "None of these")]),
        validators=[none_alone("None of these", "Things you have had")],
    )
    improving = Choice("Has your back been getting better since this episode started?",
                       choices=options(YES_NO_UNSURE), message="Select whether your back has been getting better")

    def validate_precautions(self, field):
        if not field.data:
            raise ValidationError("Things that apply to you: select any that apply, or 'None of these'")

    def validate_risk_factors(self, field):
        if not field.data:
            raise ValidationError("Things you have had: select any you have had, or 'None of these'")

    def answers(self) -> dict:
        return {
            "medications": self.medications.data,
            "blood_thinners": self.blood_thinners.data,
            "antiplatelets": self.antiplatelets.data,
            "precautions": [p for p in self.precautions.data if p != NONE],
            # Kept only beside the lymphedema answer it explains.
            "lymph_limb": self.lymph_limb.data if "lymphoedema" in self.precautions.data else "",
            "risk_factors": [r for r in self.risk_factors.data if r != NONE],
            "improving": self.improving.data,
        }


def _pain_question(label: str, what: str) -> Choice:
    return Choice(label, choices=options(ZERO_TO_TEN), message=f"Choose a number from 0 to 10 for {what}")


class ScoresForm(JourneyForm):
    pain_now = _pain_question("How bad is your back pain right now?", "your pain right now")
    pain_average = _pain_question("On average, how bad has it been over the last week?", "your average pain")
    pain_worst = _pain_question("At its worst in the last week, how bad was it?", "your worst pain")
    goals = TextAreaField("What would you most like to be able to do again?", validators=[limited(TEXT_LIMIT, "This answer")])

    def validate_goals(self, field):
        if not field.data:
            raise ValidationError("Tell us what you would most like to be able to do again")

    def answers(self) -> dict:
        return {
            "pain_now": int(self.pain_now.data),
            "pain_average": int(self.pain_average.data),
            "pain_worst": int(self.pain_worst.data),
            "goals": self.goals.data,
        }


class ActivitiesForm(JourneyForm):
    """Up to five activities the patient names, each rated 0 (unable) to 10 (as before)."""

    def answers(self) -> dict:
        return {"activities": [{"name": getattr(self, f"activity_{n}").data, "rating": int(getattr(self, f"rating_{n}").data)}
                               for n in range(1, PSFS_ROWS + 1) if getattr(self, f"activity_{n}").data]}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        named = 0
        for n in range(1, PSFS_ROWS + 1):
            name, rating = getattr(self, f"activity_{n}"), getattr(self, f"rating_{n}")
            name.data = (name.data or "").strip()
            if len(name.data) > 100:
                name.errors.append("Describe the activity in 100 characters or fewer")
            elif name.data and not rating.data:
                rating.errors.append(f"Rate how well you can do '{name.data}' now, from 0 to 10")
            elif rating.data and not name.data:
                name.errors.append(f"Name activity {n}, which you rated")
            named += bool(name.data)
        if named == 0 and not self.activity_1.errors:
            self.activity_1.errors.append("Name at least one activity your back pain makes hard, and rate it")
        return valid and not any(field.errors for field in self)


for _n in range(1, PSFS_ROWS + 1):
    setattr(ActivitiesForm, f"activity_{_n}", StringField(f"Activity {_n}" + (" (optional)" if _n > 1 else "")))
    setattr(ActivitiesForm, f"rating_{_n}", Choice(
        f"How well can you do activity {_n} now?", choices=options(ZERO_TO_TEN),
        message=f"Choose a number from 0 to 10 for activity {_n}",
        optional=True,
    ))


def form_data(step: str, saved: dict | None) -> dict:
    """A step's saved answers as form field values, so going back shows what was answered."""
    if not saved:
        return {}
    if step == "episode":
        started = None if saved.get("estimated") else date.fromisoformat(saved["started_on"])
        return {
            "start_kind": "date" if started else "weeks",
            "start_day": started.day if started else None,
            "start_month": started.month if started else None,
            "start_year": started.year if started else None,
            "weeks_ago": saved.get("weeks_ago"),
            "how": saved.get("how"),
            "how_other": saved.get("how_other"),
        }
    if step == "where":
        return saved | {"spreads": saved["spreads"] or [NONE]}
    if step == "health":
        return saved | {"precautions": saved["precautions"] or [NONE], "risk_factors": saved["risk_factors"] or [NONE]}
    if step == "pain":
        return {key: str(value) if isinstance(value, int) else value for key, value in saved.items()}
    if step == "activities":
        data = {}
        for n, activity in enumerate(saved["activities"], start=1):
            data[f"activity_{n}"], data[f"rating_{n}"] = activity["name"], str(activity["rating"])
        return data
    return saved


def _listed(keys, labels, empty="None"):
    return "; ".join(labels[key] for key in keys) if keys else empty


def readable(step: str, saved: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs in the patient's own words, for Check your answers."""
    if step == "episode":
        started = date.fromisoformat(saved["started_on"]).strftime("%-d %B %Y")
        when = f"About {saved['weeks_ago']} weeks ago (around {started})" if saved.get("estimated") else started
        how = HOW_IT_STARTED[saved["how"]] + (f": {saved['how_other']}" if saved.get("how_other") else "")
        return [("When it started", when), ("How it started", how)]
    if step == "where":
        return [
            ("Where the pain is", SIDES[saved["side"]]),
            ("Where it spreads", _listed(saved["spreads"], SPREADS, "It stays in my back")),
            # Intakes from before weakness was asked on its own asked "numbness, tingling or weakness".
            ("Numbness or tingling in a leg" if "leg_weakness" in saved else "Numbness, tingling or weakness in a leg",
             LEGS[saved["leg_symptoms"]]),
            *([("Weakness in a leg or foot", LEGS[saved["leg_weakness"]])] if "leg_weakness" in saved else []),
            *([("Leg symptoms new or getting worse", LEGS_CHANGING[saved["legs_changing"]])]
              if saved.get("legs_changing") else []),
        ]
    if step == "history":
        return [
            ("Makes it worse", _listed(saved["worse"], POSITIONS, "Not answered")),
            ("Makes it better", _listed(saved["better"], POSITIONS, "Not answered")),
            ("Stiff in the morning", dict(YES_NO)[saved["morning_stiffness"]]),
            ("Had back pain like this before", dict(YES_NO)[saved["previous_episodes"]]),
            ("X-ray or scan", IMAGING[saved["imaging"]] + (f": {saved['imaging_findings']}" if saved["imaging_findings"] else "")),
            ("Already tried", _listed(saved["treatments"], TREATMENTS, "Nothing yet")),
        ]
    if step == "health":
        return [
            ("Medicines", saved["medications"] or "None given"),
            ("Blood thinners", dict(YES_NO_UNSURE)[saved["blood_thinners"]]),
            *([("Antiplatelet medicines", dict(YES_NO_UNSURE)[saved["antiplatelets"]])] if "antiplatelets" in saved else []),
            ("These apply to me", _listed(saved["precautions"], ASKED_PRECAUTIONS, "None of these")),
            *([("Lymphedema: which arm or leg", saved["lymph_limb"])] if saved.get("lymph_limb") else []),
            ("I have had", _listed(saved["risk_factors"], ASKED_RISK_FACTORS, "None of these")),
            ("Getting better", dict(YES_NO_UNSURE)[saved["improving"]]),
        ]
    if step == "pain":
        return [
            ("Pain now", f"{saved['pain_now']} out of 10"),
            ("Average pain, last week", f"{saved['pain_average']} out of 10"),
            ("Worst pain, last week", f"{saved['pain_worst']} out of 10"),
            ("What I would like to do again", saved["goals"]),
        ]
    return [(activity["name"], f"{activity['rating']} out of 10") for activity in saved["activities"]]


def screening_form(instrument) -> type[JourneyForm]:
    """A form asking a licensed screening instrument's items exactly as its file words them."""
    fields = {
        item.key: Choice(item.text, choices=options((c.value, c.label) for c in item.choices),
                         message="Choose one answer")
        for item in instrument.items
    }

    def answers(self) -> dict:
        return {item.key: getattr(self, item.key).data for item in instrument.items}

    return type("ScreeningForm", (JourneyForm,), fields | {"answers": answers})


def screening_readable(instrument, saved: dict) -> list[tuple[str, str]]:
    labels = {item.key: {c.value: c.label for c in item.choices} for item in instrument.items}
    return [(item.text, labels[item.key][saved[item.key]]) for item in instrument.items]


# (step, heading, form) in the order they are asked; a licensed screening step may follow.
STEPS = [
    ("episode", "Your back pain", EpisodeForm),
    ("where", "Where it hurts", WhereForm),
    ("history", "What affects it", HistoryForm),
    ("health", "Your health and medicines", HealthForm),
    ("pain", "How bad the pain is", ScoresForm),
    ("activities", "What your back pain makes hard", ActivitiesForm),
]


def answered_sections(answers: dict, screening=None) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(step, heading, [(question, answer)]) for each answered step, in the order asked:
    what the patient checks before sending, and what their practitioner reads."""
    sections = [(name, heading, readable(name, answers[name])) for name, heading, _ in STEPS if name in answers]
    if "screening" in answers and screening is not None:
        sections.append(("screening", screening.title, screening_readable(screening, answers["screening"])))
    return sections


def progress_form(activities: list[str]) -> type[SafetyForm]:
    """The progress check: the three pain ratings, each of the patient's own activities rated
    again, what they noticed after the last treatment, and the safety questions once more."""
    fields = {name: field for name, field in vars(ScoresForm).items() if name.startswith("pain_")}
    for n, activity in enumerate(activities, start=1):
        fields[f"rating_{n}"] = Choice(f"How well can you do this now: {activity}?", choices=options(ZERO_TO_TEN),
                                       message=f"Choose a number from 0 to 10 for '{activity}'")
    fields["after_effects"] = CheckboxChoices(
        "After your last treatment, did you notice any of these?",
        choices=options([*AFTER_EFFECTS.items(), (NONE, "Nothing out of the ordinary")]),
        validators=[none_alone("Nothing out of the ordinary", "After your last treatment")],
    )
    fields["after_effects_other"] = TextAreaField("Tell us more (optional)", validators=[limited(TEXT_LIMIT, "This answer")])

    def validate_after_effects(self, field):
        if not field.data:
            raise ValidationError("After your last treatment: select anything you noticed, or 'Nothing out of the ordinary'")

    def pain(self) -> dict:
        return {name: int(getattr(self, name).data) for name in ("pain_now", "pain_average", "pain_worst")}

    def ratings(self) -> list[int]:
        return [int(getattr(self, f"rating_{n}").data) for n in range(1, len(activities) + 1)]

    def effects(self) -> list[str]:
        return [key for key in self.after_effects.data if key != NONE]

    # The safety question (SafetyForm's) comes last on the page; its field is inherited.
    return type("ProgressForm", (SafetyForm,), fields | {
        "pain": pain, "ratings": ratings, "effects": effects, "validate_after_effects": validate_after_effects})
