"""Authentication lines read from plain text: the account tried, its source and the outcome, on literal lines
of sshd, PAM, ftpd, klogind and web apps (several from Loghub's Linux_2k.log)."""
from datetime import date

import pytest

from logintel.adapters.auth_lines import read_auth_line
from logintel.adapters.plain_text import parse_plain_text

YEAR = date(2005, 12, 31)


def _parsed(line: str):
    event = parse_plain_text(line, source="test", reference=YEAR)
    return event.user_id, event.client_ip, event.attributes.get("auth.outcome"), event.attributes.get("auth.reason")


@pytest.mark.parametrize("line, expected", [
    ("Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
     "ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root",
     ("root", "220-135-151-1.hinet-ip.hinet.net", "failure", "pam_failure")),
    # No user=: pam_unix did not know the name; uid=0 is the process's, never the account.
    ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
     "ruser= rhost=218.188.2.4 ", (None, "218.188.2.4", "failure", "unknown_account")),
    ("Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown", (None, None, "failure", "unknown_account")),
    ("Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
     ("webmaster", "173.234.31.186", "failure", "unknown_account")),
    ("Dec 10 09:32:20 LabSZ sshd[24680]: Failed password for fztu from 119.137.62.142 port 49116 ssh2",
     ("fztu", "119.137.62.142", "failure", "bad_password")),
    ("Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
     ("fztu", "119.137.62.142", "success", None)),
    ("Dec 10 07:02:47 LabSZ sshd[24203]: Accepted publickey for deploy from 10.1.2.3 port 50000 ssh2: RSA SHA256:x",
     ("deploy", "10.1.2.3", "success", None)),
    ("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
     ("webmaster", "173.234.31.186", "failure", "unknown_account")),
    ("Jun 30 20:53:04 combo klogind[19287]: Authentication failed from 163.27.187.39 (163.27.187.39): Software "
     "caused connection abort", (None, "163.27.187.39", "failure", "auth_failed")),
    ("Jul  2 04:16:26 combo ftpd[5562]: ANONYMOUS FTP LOGIN FROM 84.102.20.2, (anonymous)",
     ("anonymous", "84.102.20.2", "success", None)),
    ("Jul  3 11:00:00 combo ftpd[1234]: login failed for user admin from 61.53.154.93",
     ("admin", "61.53.154.93", "failure", "bad_credentials")),
    ("2026-12-02 10:00:00 WARN [auth] Login failed for user 'alice@example.com' from 45.1.2.3",
     ("alice@example.com", "45.1.2.3", "failure", "bad_credentials")),
    ("Jul  3 11:00:00 combo login[812]: FAILED LOGIN 1 FROM 10.0.0.9 FOR bob, Authentication failure",
     ("bob", "10.0.0.9", "failure", "bad_password")),
    # Words only, the account and address in pairs: a level=info line is still a failure.
    ("2026-12-02T10:00:00Z info api: POST /login login failed user=carol ip=81.2.3.4",
     ("carol", "81.2.3.4", "failure", "bad_credentials")),
])
def test_authentication_lines_name_the_account_the_source_and_the_outcome(line, expected):
    assert _parsed(line) == expected


@pytest.mark.parametrize("line", [
    "Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)",
    "Jun 15 04:06:19 combo su(pam_unix)[21416]: session closed for user cyrus",
    "Jun 30 20:53:04 combo klogind[19287]: Kerberos authentication failed",  # the same attempt as the line after it
    "Jul  1 09:00:00 combo kernel: ACPI: Interpreter disabled.",
    "2026-12-02T10:00:00Z info api: GET /orders status=200 user=carol",
])
def test_lines_that_are_not_an_attempt_are_left_alone(line):
    event = parse_plain_text(line, source="test", reference=YEAR)
    assert "auth.outcome" not in event.attributes


def test_a_pam_line_keeps_the_process_uid_as_an_attribute_and_error_fields_untouched():
    event = parse_plain_text("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
                             "euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 user=guest", reference=YEAR)
    assert (event.user_id, event.attributes["uid"], event.service) == ("guest", 0, "sshd(pam_unix)")
    assert event.error_code is None and event.level == "info" and event.status is None


def test_the_reader_itself_reports_the_method():
    line = read_auth_line("Failed publickey for root from 1.2.3.4 port 22 ssh2")
    assert (line.method, line.reason, line.account, line.address) == ("publickey", "bad_credentials", "root", "1.2.3.4")
    assert read_auth_line("session opened for user root by (uid=0)") is None
