"""The clinic's articles for patients, and which of them suit which patient."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArticleLink:
    slug: str
    title: str


CAUSES = ArticleLink("lower-back-pain-causes", "Lower back pain: common causes and what helps")
EVIDENCE = ArticleLink("acupuncture-and-back-pain", "How acupuncture may help lower back pain (and what the evidence says)")
FIRST_VISITS = ArticleLink("your-first-visits", "Your first acupuncture visits: what to expect")
WARNING_SIGNS = ArticleLink("back-pain-warning-signs", "Back pain warning signs: when to get urgent help")
BEFORE_APPOINTMENT = ArticleLink("before-your-appointment", "Before your appointment")


def articles_for(*, first_visit: bool, urgent_flag: bool) -> list[ArticleLink]:
    """The reading list for a booking: the warning signs first when something urgent was
    raised, then what first-time patients need, then what everyone may find useful."""
    chosen = [WARNING_SIGNS] if urgent_flag else []
    if first_visit:
        chosen += [FIRST_VISITS, BEFORE_APPOINTMENT]
    return chosen + [CAUSES, EVIDENCE]
