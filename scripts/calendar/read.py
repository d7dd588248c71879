"""Reads a calendar entry (RFC 5545) with Python's icalendar, as a second
reader beside the Rust crate that wrote it, and prints what a calendar
would take from it as JSON: the method, and for each event its UID,
SEQUENCE, status, summary, location, organizer, attendees (with RSVP), and
its start and end as UTC instants (ISO 8601).

Usage: read.py FILE.ics
"""

import datetime
import json
import sys

import icalendar


def utc(value):
    moment = value.dt
    if not isinstance(moment, datetime.datetime) or moment.tzinfo is None:
        raise SystemExit(f"not an instant: {moment!r}")
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(path):
    with open(path, "rb") as file:
        calendar = icalendar.Calendar.from_ical(file.read())
    events = []
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        events.append(
            {
                "uid": str(event["UID"]),
                "sequence": int(event.get("SEQUENCE", 0)),
                "status": str(event.get("STATUS", "")),
                "summary": str(event.get("SUMMARY", "")),
                "location": str(event.get("LOCATION", "")),
                "description": str(event.get("DESCRIPTION", "")),
                "organizer": str(event.get("ORGANIZER", "")),
                "attendees": [
                    {"address": str(a), "rsvp": a.params.get("RSVP")} for a in attendees
                ],
                "start": utc(event["DTSTART"]),
                "end": utc(event["DTEND"]),
            }
        )
    print(json.dumps({"method": str(calendar.get("METHOD", "")), "events": events}))


if __name__ == "__main__":
    main(sys.argv[1])
