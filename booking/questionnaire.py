"""The back-pain questionnaire: the intake's questions, one form per step, the progress check
asked before a later visit, and how the answers read back. Labels here are also what Check
your answers shows, and what the practitioner and the rights pages read.

Every word a patient reads is marked for translation: lazily at module level (each page reads
it in its own language, staff pages in English), at call time in validators. Stored answers
are codes and numbers, never the words, so scoring and the practitioner's view do not depend
on the language the patient answered in. The pain questions are the NPRS file's own items,
in the page's language (booking/measures/instruments/nprs.toml)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from booking.measures import intake as intake_rules
from booking.formatting import date_text, typed_date
from booking.forms import CheckboxChoices, Choice, JourneyForm, SafetyForm, options
from booking.measures import SHIPPED, load_instrument
from booking.validation import whole_number

NONE = "none"
YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]
YES_NO_UNSURE = [("yes", _l("Yes")), ("no", _l("No")), ("not_sure", _l("I'm not sure"))]
ZERO_TO_TEN = [(str(n), str(n)) for n in range(11)]

HOW_IT_STARTED = {
    "lifting": _l("Lifting something"),
    "twisting": _l("Twisting or turning"),
    "home_job": _l("A big job at home, such as gardening, painting or home repairs"),
    "sport": _l("Sports or exercise"),
    "fall": _l("A fall or an accident"),
    "no_cause": _l("No clear cause"),
    "other": _l("Something else"),
}
SIDES = {"left": _l("Left side"), "right": _l("Right side"), "both": _l("Both sides"), "centre": _l("In the middle")}
SPREADS = {"buttock": _l("Into the buttock"), "thigh": _l("Into the thigh"), "below_knee": _l("Below the knee"), "foot": _l("Into the foot")}
LEGS = {"no": _l("No"), "left": _l("Yes, my left leg"), "right": _l("Yes, my right leg"), "both": _l("Yes, both legs")}
LEGS_CHANGING = {
    intake_rules.LEGS_CHANGING: _l("Yes: they are new in the last few weeks, or getting worse"),
    intake_rules.LEGS_UNCHANGED: _l("No: I have had them for a while and they are not changing"),
}
POSITIONS = {
    "sitting": _l("Sitting"),
    "standing": _l("Standing"),
    "walking": _l("Walking"),
    "bending": _l("Bending"),
    "lying": _l("Lying down"),
    "coughing": _l("Coughing or sneezing"),
}
IMAGING = {"none": _l("No"), "xray": _l("Yes, an X-ray"), "mri": _l("Yes, an MRI scan"), "both": _l("Yes, an X-ray and an MRI scan")}
TREATMENTS = {
    "physio": _l("Physical therapy"),
    "chiropractic": _l("Chiropractic"),
    "massage": _l("Massage"),
    "medication": _l("Medicines"),
    "injections": _l("Injections"),
    "surgery": _l("Surgery"),
    "acupuncture": _l("Acupuncture"),
}
# Asked in the patient's words; the practitioner sees PRECAUTIONS and RISK_FACTORS wording.
ASKED_PRECAUTIONS = {
    "pregnant": _l("I am pregnant, or might be"),
    "bleeding_disorder": _l("I have a bleeding disorder, such as hemophilia"),
    "implanted_device": _l("I have a pacemaker, defibrillator or another implanted electrical device"),
    "needle_fear": _l("I am afraid of needles"),
    "fainting": _l("I have fainted before, for any reason, or I faint easily"),
    "lymphoedema": _l("I have lymphedema (long-lasting swelling of an arm or leg), or have had lymph nodes removed"),
    "metal_allergy": _l("I am allergic to metals such as nickel"),
    "skin_problem": _l("I have an infection or broken skin on my lower back"),
    "epilepsy": _l("I have epilepsy"),
    "diabetes": _l("I have diabetes"),
    "weak_immunity": _l("My immune system is weakened, for example by chemotherapy or steroid medicines"),
}
ASKED_RISK_FACTORS = {
    "cancer_history": _l("Cancer, at any time"),
    "steroids": _l("Steroid pills or injections for 3 months or more"),
    "osteoporosis": _l("Osteoporosis (thin, weak bones)"),
    "recent_infection": _l("An infection in the last few weeks"),
}
# AFTER_EFFECTS (booking.measures.intake) as the patient is asked them; the same keys.
ASKED_AFTER_EFFECTS = {
    "bruising": _l("Bruising or a little bleeding where the needles were"),
    "soreness": _l("Soreness where the needles were"),
    "tiredness": _l("Feeling tired or sleepy afterwards"),
    "flare_up": _l("Back pain worse for a day or two"),
    "faint": _l("Feeling faint, or fainting"),
    "other": _l("Something else"),
}
PSFS_ROWS = 5
TEXT_LIMIT = 500


NPRS = load_instrument(SHIPPED / "nprs.toml")


def page_locale() -> str:
    """The locale of the page being written (English outside a request)."""
    return str(get_locale() or "en_US")


def page_language() -> str:
    return page_locale().split("_")[0]


def pain_item(key: str) -> LazyString:
    """An NPRS question as its file words it, in the page's language when read."""
    return LazyString(lambda: NPRS.worded(page_language()).item(key).text)


def example_date(today: date, locale: str | None = None) -> str:
    """A believable past date to show as an example, its parts in the order the locale writes
    them (and the date boxes are laid out in): "9/14/2026" in en_US, "14/9/2026" in es_US."""
    return typed_date(today - timedelta(days=60), locale or str(page_locale()))


def limited(limit: int, what):
    """A validator: at most `limit` characters, said in words (`what` names the answer)."""

    def check(form, field):
        field.data = (field.data or "").strip()
        if len(field.data) > limit:
            raise ValidationError(_("%(what)s must be %(limit)s characters or fewer", what=what, limit=limit))

    return check


def none_alone(message):
    """A validator: the 'none' answer cannot be ticked together with anything else (`message`
    says so, naming the question and the answer)."""

    def check(form, field):
        if NONE in (field.data or []) and len(field.data) > 1:
            raise ValidationError(str(message))

    return check


class EpisodeForm(JourneyForm):
    start_kind = Choice(
        _l("When did this episode of back pain start?"),
        choices=options([("date", _l("On a date I can give")), ("weeks", _l("I can say roughly how many weeks ago"))]),
        message=_l("Select whether you can give a date or a number of weeks"),
    )
    start_day = StringField(_l("Day"))
    start_month = StringField(_l("Month"))
    start_year = StringField(_l("Year"))
    weeks_ago = StringField(_l("About how many weeks ago?"))
    how = Choice(_l("How did it start?"), choices=options(HOW_IT_STARTED.items()),
                 message=_l("Select how your back pain started"))
    how_other = StringField(_l("If something else, tell us what (optional)"), validators=[limited(200, _l("This answer"))])

    def __init__(self, *args, today: date, born_on: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.born_on = born_on  # a start before it is a mistyped year (1/1/1900 was taken)
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
            raise ValidationError(_("Enter the date the pain started as a real date, like %(example)s",
                                    example=example_date(self.today))) from None
        if started > self.today:
            raise ValidationError(_("The date the pain started must be today or in the past"))
        if self.born_on is not None and started < self.born_on:
            raise ValidationError(_("The date the pain started is before your date of birth: check the year"))
        self.started_on = started

    def validate_weeks_ago(self, field):
        if self.start_kind.data != "weeks":
            return
        weeks = whole_number(field.data)
        if weeks is None or not 0 <= weeks <= 1040:
            raise ValidationError(_("Enter the number of weeks as a whole number from 0 to 1040, like 6"))
        if self.born_on is not None and self.today - timedelta(weeks=weeks) < self.born_on:
            raise ValidationError(_("That many weeks ago is before your date of birth: check the number"))
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
    side = Choice(_l("Where in your lower back is the pain?"), choices=options(SIDES.items()),
                  message=_l("Select where the pain is"))
    spreads = CheckboxChoices(
        _l("Does the pain spread anywhere else?"),
        choices=options([*SPREADS.items(), (NONE, _l("No, it stays in my back"))]),
        validators=[none_alone(_l("Where the pain spreads: select 'No, it stays in my back' only if nothing else applies"))],
    )
    leg_symptoms = Choice(
        _l("Do you have numbness or tingling in a leg?"),
        choices=options(LEGS.items()),
        message=_l("Select whether you have numbness or tingling in a leg"),
    )
    leg_weakness = Choice(
        _l("Does a leg or foot feel weak?"),
        choices=options(LEGS.items()),
        message=_l("Select whether a leg or foot feels weak"),
    )
    legs_changing = Choice(
        _l("If you have any of these leg symptoms, are they new or getting worse?"),
        choices=options(LEGS_CHANGING.items()),
        message=_l("Select whether your leg symptoms are new or getting worse"),
        optional=True,
    )

    def validate_spreads(self, field):
        if not field.data:
            raise ValidationError(_("Select where the pain spreads, or that it stays in your back"))

    def validate_legs_changing(self, field):
        if self.has_leg_symptoms and not field.data:
            raise ValidationError(str(field.message))

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
    worse = CheckboxChoices(_l("What makes it worse? (optional)"), choices=options(POSITIONS.items()))
    better = CheckboxChoices(_l("What makes it better? (optional)"), choices=options(POSITIONS.items()))
    morning_stiffness = Choice(_l("Is your back stiff in the morning?"), choices=options(YES_NO),
                               message=_l("Select yes or no"))
    previous_episodes = Choice(
        _l("Have you had back pain like this before?"), choices=options(YES_NO),
        message=_l("Select whether you have had back pain like this before"),
    )
    imaging = Choice(_l("Have you had an X-ray or a scan of your back?"), choices=options(IMAGING.items()),
                     message=_l("Select whether you have had an X-ray or a scan"))
    imaging_findings = TextAreaField(_l("What did it show? (optional)"), validators=[limited(TEXT_LIMIT, _l("This answer"))])
    treatments = CheckboxChoices(_l("What have you already tried for your back? (optional)"),
                                 choices=options(TREATMENTS.items()))

    def answers(self) -> dict:
        answers = {name: getattr(self, name).data for name in (
            "worse", "better", "morning_stiffness", "previous_episodes", "imaging", "imaging_findings", "treatments")}
        # Kept only beside a yes it explains: words left in the box (it stays on the page without
        # JavaScript) after answering "No" would read to the practitioner as a finding.
        if answers["imaging"] == "none":
            answers["imaging_findings"] = ""
        return answers


class HealthForm(JourneyForm):
    medications = TextAreaField(_l("Which medicines do you take at the moment? (optional)"),
                                validators=[limited(1000, _l("The list of medicines"))])
    blood_thinners = Choice(
        _l("Do you take blood thinners (anticoagulants), such as warfarin, apixaban or rivaroxaban?"),
        choices=options(YES_NO_UNSURE), message=_l("Select whether you take blood thinners"),
    )
    antiplatelets = Choice(
        _l("Do you take a medicine that stops blood clots forming (an antiplatelet), such as clopidogrel, "
           "ticagrelor or a daily low-dose aspirin?"),
        choices=options(YES_NO_UNSURE), message=_l("Select whether you take an antiplatelet medicine"),
    )
    precautions = CheckboxChoices(
        _l("Do any of these apply to you?"),
        choices=options([*ASKED_PRECAUTIONS.items(), (NONE, _l("None of these"))]),
        validators=[none_alone(_l("Things that apply to you: select 'None of these' only if nothing else applies"))],
    )
    lymph_limb = StringField(_l("If you have lymphedema or had lymph nodes removed: which arm or leg? (optional)"),
                             validators=[limited(100, _l("Which arm or leg"))])
    risk_factors = CheckboxChoices(
        _l("Have you had any of these?"),
        choices=options([*ASKED_RISK_FACTORS.items(), (NONE, _l("None of these"))]),
        validators=[none_alone(_l("Things you have had: select 'None of these' only if nothing else applies"))],
    )
    improving = Choice(_l("Has your back been getting better since this episode started?"),
                       choices=options(YES_NO_UNSURE), message=_l("Select whether your back has been getting better"))

    def validate_precautions(self, field):
        if not field.data:
            raise ValidationError(_("Things that apply to you: select any that apply, or 'None of these'"))

    def validate_risk_factors(self, field):
        if not field.data:
            raise ValidationError(_("Things you have had: select any you have had, or 'None of these'"))

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


def _pain_question(key: str, message) -> Choice:
    return Choice(pain_item(key), choices=options(ZERO_TO_TEN), message=message)


class ScoresForm(JourneyForm):
    pain_now = _pain_question("pain_now", _l("Choose a number from 0 to 10 for your pain right now"))
    pain_average = _pain_question("pain_average", _l("Choose a number from 0 to 10 for your average pain"))
    pain_worst = _pain_question("pain_worst", _l("Choose a number from 0 to 10 for your worst pain"))
    goals = TextAreaField(_l("What would you most like to be able to do again?"),
                          validators=[limited(TEXT_LIMIT, _l("This answer"))])

    def validate_goals(self, field):
        if not field.data:
            raise ValidationError(_("Tell us what you would most like to be able to do again"))

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
                name.errors.append(_("Describe the activity in 100 characters or fewer"))
            elif name.data and not rating.data:
                rating.errors.append(_("Rate how well you can do '%(activity)s' now, from 0 to 10", activity=name.data))
            elif rating.data and not name.data:
                name.errors.append(_("Name activity %(number)s, which you rated", number=n))
            named += bool(name.data)
        if named == 0 and not self.activity_1.errors:
            self.activity_1.errors.append(_("Name at least one activity your back pain makes hard, and rate it"))
        return valid and not any(field.errors for field in self)


for _n in range(1, PSFS_ROWS + 1):
    setattr(ActivitiesForm, f"activity_{_n}", StringField(
        _l("Activity %(number)s", number=_n) if _n == 1 else _l("Activity %(number)s (optional)", number=_n)))
    setattr(ActivitiesForm, f"rating_{_n}", Choice(
        _l("How well can you do activity %(number)s now?", number=_n), choices=options(ZERO_TO_TEN),
        message=_l("Choose a number from 0 to 10 for activity %(number)s", number=_n),
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


def _listed(keys, labels, empty) -> str:
    return "; ".join(str(labels[key]) for key in keys) if keys else str(empty)


def out_of_ten(rating) -> str:
    return _("%(rating)s out of 10", rating=rating)


def readable(step: str, saved: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs in the patient's own words, for Check your answers: plain text
    in the page's language (staff pages read English)."""
    return [(str(question), str(answer)) for question, answer in _readable(step, saved)]


def _readable(step: str, saved: dict) -> list[tuple]:
    if step == "episode":
        started = date_text(date.fromisoformat(saved["started_on"]), page_locale(), "long")
        # One week is said on its own rather than by plural forms: English and Spanish differ
        # only there (0 and 2+ take "weeks"/"semanas").
        weeks = saved.get("weeks_ago")
        when = (started if not saved.get("estimated")
                else _("About a week ago (around %(date)s)", date=started) if weeks == 1
                else _("About %(weeks)s weeks ago (around %(date)s)", weeks=weeks, date=started))
        how = (_("%(how)s: %(details)s", how=HOW_IT_STARTED[saved["how"]], details=saved["how_other"])
               if saved.get("how_other") else HOW_IT_STARTED[saved["how"]])
        return [(_("When it started"), when), (_("How it started"), how)]
    if step == "where":
        return [
            (_("Where the pain is"), SIDES[saved["side"]]),
            (_("Where it spreads"), _listed(saved["spreads"], SPREADS, _l("It stays in my back"))),
            # Intakes from before weakness was asked on its own asked "numbness, tingling or weakness".
            (_("Numbness or tingling in a leg") if "leg_weakness" in saved else _("Numbness, tingling or weakness in a leg"),
             LEGS[saved["leg_symptoms"]]),
            *([(_("Weakness in a leg or foot"), LEGS[saved["leg_weakness"]])] if "leg_weakness" in saved else []),
            *([(_("Leg symptoms new or getting worse"), LEGS_CHANGING[saved["legs_changing"]])]
              if saved.get("legs_changing") else []),
        ]
    if step == "history":
        imaging = IMAGING[saved["imaging"]]
        return [
            (_("Makes it worse"), _listed(saved["worse"], POSITIONS, _l("Not answered"))),
            (_("Makes it better"), _listed(saved["better"], POSITIONS, _l("Not answered"))),
            (_("Stiff in the morning"), dict(YES_NO)[saved["morning_stiffness"]]),
            (_("Had back pain like this before"), dict(YES_NO)[saved["previous_episodes"]]),
            (_("X-ray or scan"), _("%(how)s: %(details)s", how=imaging, details=saved["imaging_findings"])
             if saved["imaging_findings"] else imaging),
            (_("Already tried"), _listed(saved["treatments"], TREATMENTS, _l("Nothing yet"))),
        ]
    if step == "health":
        return [
            (_("Medicines"), saved["medications"] or _("None given")),
            (_("Blood thinners"), dict(YES_NO_UNSURE)[saved["blood_thinners"]]),
            *([(_("Antiplatelet medicines"), dict(YES_NO_UNSURE)[saved["antiplatelets"]])] if "antiplatelets" in saved else []),
            (_("These apply to me"), _listed(saved["precautions"], ASKED_PRECAUTIONS, _l("None of these"))),
            *([(_("Lymphedema: which arm or leg"), saved["lymph_limb"])] if saved.get("lymph_limb") else []),
            (_("I have had"), _listed(saved["risk_factors"], ASKED_RISK_FACTORS, _l("None of these"))),
            (_("Getting better"), dict(YES_NO_UNSURE)[saved["improving"]]),
        ]
    if step == "pain":
        return [
            (_("Pain now"), out_of_ten(saved["pain_now"])),
            (_("Average pain, last week"), out_of_ten(saved["pain_average"])),
            (_("Worst pain, last week"), out_of_ten(saved["pain_worst"])),
            (_("What I would like to do again"), saved["goals"]),
        ]
    return [(activity["name"], out_of_ten(activity["rating"])) for activity in saved["activities"]]


def screening_form(instrument) -> type[JourneyForm]:
    """A form asking a licensed screening instrument's items exactly as its file words them
    (pass `instrument.worded(language)` for the page's language, where the file has it)."""
    fields = {
        item.key: Choice(item.text, choices=options((c.value, c.label) for c in item.choices),
                         message=_l("Choose one answer"))
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
    ("episode", _l("Your back pain"), EpisodeForm),
    ("where", _l("Where it hurts"), WhereForm),
    ("history", _l("What affects it"), HistoryForm),
    ("health", _l("Your health and medicines"), HealthForm),
    ("pain", _l("How bad the pain is"), ScoresForm),
    ("activities", _l("What your back pain makes hard"), ActivitiesForm),
]


def answered_sections(answers: dict, screening=None) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(step, heading, [(question, answer)]) for each answered step, in the order asked:
    what the patient checks before sending, and what their practitioner reads."""
    sections = [(name, str(heading), readable(name, answers[name])) for name, heading, _form in STEPS if name in answers]
    if "screening" in answers and screening is not None:
        sections.append(("screening", screening.title, screening_readable(screening, answers["screening"])))
    return sections


def progress_form(activities: list[str]) -> type[SafetyForm]:
    """The progress check: the three pain ratings, each of the patient's own activities rated
    again, what they noticed after the last treatment, and the safety questions once more."""
    fields = {name: field for name, field in vars(ScoresForm).items() if name.startswith("pain_")}
    for n, activity in enumerate(activities, start=1):
        # Translated now, as plain text (the form is built per request): a lazy string counts as
        # safe HTML in templates, and the activity is the patient's own typing.
        fields[f"rating_{n}"] = Choice(_("How well can you do this now: %(activity)s?", activity=activity),
                                       choices=options(ZERO_TO_TEN),
                                       message=_("Choose a number from 0 to 10 for '%(activity)s'", activity=activity))
    fields["after_effects"] = CheckboxChoices(
        _l("After your last treatment, did you notice any of these?"),
        choices=options([*ASKED_AFTER_EFFECTS.items(), (NONE, _l("Nothing out of the ordinary"))]),
        validators=[none_alone(_l("After your last treatment: select 'Nothing out of the ordinary' only if "
                                  "nothing else applies"))],
    )
    fields["after_effects_other"] = TextAreaField(_l("Tell us more (optional)"),
                                                  validators=[limited(TEXT_LIMIT, _l("This answer"))])

    def validate_after_effects(self, field):
        if not field.data:
            raise ValidationError(_("After your last treatment: select anything you noticed, or 'Nothing out of the ordinary'"))

    def pain(self) -> dict:
        return {name: int(getattr(self, name).data) for name in ("pain_now", "pain_average", "pain_worst")}

    def ratings(self) -> list[int]:
        return [int(getattr(self, f"rating_{n}").data) for n in range(1, len(activities) + 1)]

    def effects(self) -> list[str]:
        return [key for key in self.after_effects.data if key != NONE]

    # The safety question (SafetyForm's) comes last on the page; its field is inherited.
    return type("ProgressForm", (SafetyForm,), fields | {
        "pain": pain, "ratings": ratings, "effects": effects, "validate_after_effects": validate_after_effects})
