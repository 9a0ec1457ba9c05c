"""The clinic's address as patients read it: envelope lines, one line for calendar files, a map link."""

from urllib.parse import parse_qs, urlsplit

import pytest

from booking.formatting import tel_uri
from booking.models import Clinic

LOS_ANGELES = {"street": "1200 Example Ave, Suite 4", "city": "Los Angeles", "postcode": "90012", "country": "US"}


@pytest.mark.parametrize("address, lines", [
    (LOS_ANGELES | {"region": "CA"}, ["1200 Example Ave, Suite 4", "Los Angeles, CA 90012"]),
    (LOS_ANGELES, ["1200 Example Ave, Suite 4", "Los Angeles, 90012"]),
    ({"street": "1 Main St", "city": "Toronto", "region": "ON", "postcode": "M5V 2T6", "country": "CA"},
     ["1 Main St", "Toronto, ON M5V 2T6"]),
    ({"street": "12 High Street", "city": "Bath", "region": "Somerset", "postcode": "BA1 1AA", "country": "GB"},
     ["12 High Street", "Bath", "Somerset", "BA1 1AA"]),
    ({"street": "Calle Mayor 1, 2.º", "city": "Madrid", "postcode": "28013", "country": "ES"},
     ["Calle Mayor 1, 2.º", "28013 Madrid"]),
    ({"street": "Unit 3\n  The Old Mill  \n\n", "city": "London", "postcode": "E1 6AN", "country": "GB"},
     ["Unit 3", "The Old Mill", "London", "E1 6AN"]),
    ({"city": "Los Angeles", "country": "US"}, ["Los Angeles"]),
    ({"region": "CA", "postcode": "90012"}, ["CA 90012"]),  # no country: the clinic's own (US)
    ({"street": "  ", "city": "", "country": "US"}, []),
    ({}, []),
])
def test_the_address_reads_as_an_envelope_of_its_country(address, lines):
    typed = {("region" if key == "region" else key): value for key, value in address.items()}
    place = Clinic(region="US", **{f"address_{key}": value for key, value in typed.items()})
    assert place.address_lines == lines
    assert place.address_text == ", ".join(lines)


def test_without_a_country_the_address_follows_the_clinics_region():
    london = Clinic(region="GB", address_street="12 High Street", address_city="London", address_postcode="SW1A 1AA")
    assert london.address_lines == ["12 High Street", "London", "SW1A 1AA"]


def test_one_line_for_a_calendar_file():
    place = Clinic(region="US", address_street="1200 Example Ave, Suite 4", address_city="Los Angeles",
                   address_region="CA", address_postcode="90012", address_country="US", directions="Side door.")
    assert place.address_text == "1200 Example Ave, Suite 4, Los Angeles, CA 90012"  # directions are not the address


def test_the_map_link_searches_for_the_address_with_its_country_named():
    place = Clinic(region="US", address_street="1200 Example Ave, Suite 4", address_city="Los Angeles",
                   address_region="CA", address_postcode="90012", address_country="US")
    link = urlsplit(place.directions_url)
    assert (link.scheme, link.netloc, link.path) == ("https", "www.openstreetmap.org", "/search")
    assert parse_qs(link.query) == {"query": ["1200 Example Ave, Suite 4, Los Angeles, CA 90012, United States"]}
    assert "&" not in link.query and " " not in place.directions_url  # one parameter, encoded
    odd = Clinic(region="GB", address_street="Flat 2 & 3, 5 Rue #7?", address_city="Bath")
    assert parse_qs(urlsplit(odd.directions_url).query) == {
        "query": ["Flat 2 & 3, 5 Rue #7?, Bath, United Kingdom"]}


@pytest.mark.parametrize("address", [{}, {"country": "US"}, {"street": " ", "postcode": ""}])
def test_no_address_no_map_link(address):
    assert Clinic(region="US", directions="Step-free entrance",
                  **{f"address_{key}": value for key, value in address.items()}).directions_url is None


@pytest.mark.parametrize(("number", "link"), [
    ("+1 213 555 0100", "tel:+12135550100"),
    ("(213) 555-0100", "tel:2135550100"),
    ("911", "tel:911"),
    ("+1 213 555 0100 ext. 12", "tel:+12135550100;ext=12"),
    ("+44 (0)20 7946 0000", "tel:+442079460000"),  # the (0) is not dialled from abroad
    ("999 or 112", None),                           # two numbers: say them, dial neither
    ("(213) 555-CARE", None),                       # letters: a phone would dial a shorter number
    ("", None),
])
def test_a_phone_number_becomes_a_link_only_when_it_is_one_dialable_number(number, link):
    assert tel_uri(number) == link
