"""The message of every typed error code (``idolguard.errors.ErrorCode``), in English, for every front door.

The web pages (``web/errors.py``) and the command line (``cli_lang.tr_error``) both say a coded refusal with
the message here, translated through one catalog: ``locales/errcodes.ko.po`` (loaded by the web's and the
CLI's catalogs alike), so a Korean reader sees the same sentence, with the same specifics (a file's limit, a
case number), wherever the refusal reaches them. ``{name}`` fields are filled from the error's ``params``.
``tests/web/test_error_codes.py`` checks every code has a message and real Korean naming the same fields;
``tests/test_error_coverage.py`` checks the refusals people meet carry a code.
"""

from __future__ import annotations

from idolguard.errors import ErrorCode


def N_(message: str) -> str:  # noqa: N802 (the conventional gettext marker)
    """Marks a message for the catalog (translated where it is shown)."""
    return message


# One message per code; ``{name}`` fields come from the error's params.
MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.GENERIC: N_("The request could not be completed."),
    ErrorCode.CAPTURE_PRIVATE_ADDRESS: N_(
        "Not captured: {url} leads to a private or internal network address, which capture never reaches."
    ),
    ErrorCode.CAPTURE_HOST_NOT_FOUND: N_("Not captured: the address {host} could not be found."),
    ErrorCode.CAPTURE_DNS_TIMEOUT: N_("Not captured: looking up the address {host} took too long."),
    ErrorCode.CAPTURE_SCHEME: N_("Not captured: only http and https addresses can be captured."),
    ErrorCode.CAPTURE_INVALID_URL: N_("Not captured: this is not a valid web address."),
    ErrorCode.CAPTURE_CREDENTIALS: N_("Not captured: addresses with a user name or password in them are not captured."),
    ErrorCode.CAPTURE_BAD_IDN: N_("Not captured: the international host name is not valid."),
    ErrorCode.CAPTURE_UNREACHABLE: N_("Not captured: the site {host} did not answer or refused the connection."),
    ErrorCode.CAPTURE_TIME_LIMIT: N_("The capture stopped at its time limit; what arrived before is kept."),
    ErrorCode.CAPTURE_SIZE_LIMIT: N_("The capture stopped at its size limit; what arrived before is kept."),
    ErrorCode.CAPTURE_LIMIT: N_("The capture stopped at a safety limit; what arrived before is kept."),
    ErrorCode.CAPTURE_REDIRECTS: N_("Not captured: the address redirects in a loop or too many times."),
    ErrorCode.CAPTURE_HTTP_STATUS: N_("The page answered with HTTP status {status} (preserved as it was)."),
    ErrorCode.CAPTURE_FAILED: N_("The capture failed; try again later."),
    ErrorCode.CAPTURE_INTERNAL: N_(
        "The capture stopped on an internal error; what was captured before is kept. Try again, "
        "and tell an administrator if it happens again."
    ),
    ErrorCode.CAPTURE_TLS_UNTRUSTED: N_(
        "The site's security certificate is not trusted ({reason}); the page was captured anyway, and this is recorded."
    ),
    ErrorCode.CAPTURE_PAGE_BODY: N_("The page's content could not be decoded; it is kept exactly as the site sent it."),
    ErrorCode.CAPTURE_EXTRACTOR: N_(
        "The reader for {extractor} failed; the page and the media found on it were still captured."
    ),
    ErrorCode.CAPTURE_MEDIA_LIMIT: N_(
        "Only the first {limit} media files of the page were captured; {skipped} more were skipped."
    ),
    ErrorCode.CAPTURE_MEDIA_FAILED: N_(
        "A media file ({url}) could not be captured completely; the rest of the page is kept."
    ),
    ErrorCode.CAPTURE_MEDIA_BUDGET: N_(
        "The capture's download or time limit was reached at a media file ({url}): it and the {skipped} media after "
        "it on the page were not captured. The page and the media before it are kept."
    ),
    ErrorCode.CAPTURE_MEDIA_SKIPPED: N_(
        "Not captured: the capture's download or time limit was reached at an earlier media file of the page."
    ),
    ErrorCode.CAPTURE_MEDIA_DOWNLOAD: N_(
        "This file could not be downloaded completely (the connection failed, or it went over a size or time "
        "limit); it was not kept."
    ),
    ErrorCode.CAPTURE_MEDIA_REFUSED: N_(
        "Not captured: this file's address leads to a private or internal network address, or one capture refuses."
    ),
    ErrorCode.CAPTURE_MEDIA_HTTP: N_("The server answered HTTP status {status} for this file; it was not captured."),
    ErrorCode.CAPTURE_MEDIA_NOT_MEDIA: N_(
        "This file ({mime}) is not a readable image or video: damaged, or another kind of file; it was not kept."
    ),
    ErrorCode.CAPTURE_MEDIA_NOT_STORED: N_("This file was downloaded but could not be stored in the vault."),
    ErrorCode.CAPTURE_NO_BROWSER: N_(
        "No screenshot or PDF was made: the browser is not available on this server. The page and its media are kept."
    ),
    ErrorCode.CAPTURE_BROWSER: N_(
        "The browser could not render the page completely: the screenshot or PDF may be missing or incomplete. "
        "The page and its media are kept."
    ),
    ErrorCode.CAPTURE_PAGE_SLOW: N_(
        "The page did not finish loading within {seconds} s; the screenshot shows it as it was then."
    ),
    ErrorCode.CAPTURE_SCREENSHOT_CUT: N_("The page is {height} px tall; the screenshot stops at {limit} px."),
    ErrorCode.CAPTURE_ARCHIVE: N_(
        "The web archive (WACZ) could not be packaged; the WARC record and the other files are kept."
    ),
    ErrorCode.CAPTURE_MANIFEST: N_(
        "The capture's manifest could not be stored, so the capture cannot be timestamped. Capture the address again."
    ),
    ErrorCode.CAPTURE_TIMESTAMP: N_(
        "No trusted timestamp came from {tsa}; the capture is kept. "
        "Check the time-stamping service settings or the network."
    ),
    ErrorCode.RECORD_UNKNOWN: N_("There is no record {ref}."),
    ErrorCode.ROLE_NOT_ALLOWED: N_("Your role ({role}) may not do this; it needs: {roles}."),
    ErrorCode.CASE_FILED_NEEDS: N_("To mark the case as filed, fill in: {fields}."),
    ErrorCode.CASE_FILING_DATE: N_("'{text}' is not a date: write it as YYYY-MM-DD."),
    ErrorCode.CASE_FILING_FUTURE: N_("The filing date {day} is in the future."),
    ErrorCode.CASE_DESTROYED: N_("The evidence of {number} was destroyed; the case only keeps hashes."),
    ErrorCode.CASE_BAD_TRANSITION: N_("The case cannot go from '{current}' to '{status}'."),
    ErrorCode.CASE_ALREADY: N_("The case already has the status '{status}'."),
    ErrorCode.CASE_EMPTY_NOTE: N_("An empty note is not recorded: write something first."),
    ErrorCode.CASE_NOT_ASSIGNED: N_("{name} is not assigned to this case in this role."),
    ErrorCode.CASE_ALREADY_ASSIGNED: N_("{name} is already assigned to this case in this role."),
    ErrorCode.CASE_NEEDS_REASON: N_("Give a reason: it is recorded in the custody log."),
    ErrorCode.CASE_HOLD_ON: N_("The case is already under legal hold."),
    ErrorCode.CASE_HOLD_OFF: N_("The case is not under legal hold."),
    ErrorCode.CASE_RETENTION: N_("Retention is a number of days, 0 or more."),
    ErrorCode.CASE_ON_HOLD: N_("The case is under legal hold: lift the hold before destroying its evidence."),
    ErrorCode.CASE_NOT_CLOSED: N_("Close the case before destroying its evidence."),
    ErrorCode.CASE_SECOND_APPROVER: N_("Destroying evidence needs two different managers or admins to approve."),
    ErrorCode.TAKEDOWN_DUPLICATE: N_(
        "Notice {id} to this recipient already covers {url}. To send another one, tick 'Send again'."
    ),
    ErrorCode.TAKEDOWN_NOT_DRAFT: N_("Notice {id} is no longer a draft."),
    ErrorCode.BANK_ENTRY_HAS_MATCHES: N_(
        "Entry {entry} of the hash bank {name} has recorded matches ({hits} item(s) matched it): they are kept as "
        "evidence, so it was not removed. Run 'idolguard bank disable {name} {entry}' instead: it stops matching "
        "and everything is kept."
    ),
    ErrorCode.TAKEDOWN_NO_SMTP: N_("E-mail sending is not set up; an administrator can set it up."),
    ErrorCode.TAKEDOWN_SEND_FAILED: N_("Sending notice {id} failed; it stays a draft. Try again later."),
    ErrorCode.TAKEDOWN_ALREADY: N_("Notice {id} already has the status '{status}'."),
    ErrorCode.TAKEDOWN_NOT_SENT: N_("Notice {id} has not been sent yet."),
    ErrorCode.TAKEDOWN_NO_URL: N_("The case has no sighting with a URL to report: a notice needs the exact location."),
    ErrorCode.PORTAL_NOT_FAILED: N_("Only a link whose capture failed can be retried."),
    ErrorCode.USER_EXISTS: N_("A user named {name} already exists."),
    ErrorCode.USER_UNKNOWN: N_("There is no user named {name}."),
    ErrorCode.USER_DISABLED: N_("The user {name} is disabled."),
    ErrorCode.USER_ALREADY_DISABLED: N_("{name} is already disabled."),
    ErrorCode.USER_NOT_DISABLED: N_("{name} is not disabled."),
    ErrorCode.USER_SELF_DISABLE: N_("You cannot disable your own account. Another administrator can."),
    ErrorCode.USER_LAST_ADMIN: N_(
        "{name} is the last active administrator. Add or enable another administrator first."
    ),
    ErrorCode.USER_NAME_INVALID: N_("User names are 1 to 64 characters: Latin letters, Hangul, digits and . _ - @"),
    ErrorCode.ROLE_UNKNOWN: N_("Choose one of the roles in the list."),
    ErrorCode.SCOPE_UNKNOWN_ARTISTS: N_(
        "Unknown artist(s) in the scope: {names}. Enrol them first, or check the spelling."
    ),
    ErrorCode.TOKEN_UNKNOWN: N_("There is no token {id}."),
    ErrorCode.TOKEN_SCOPE: N_("Choose read or write access."),
    ErrorCode.TOKEN_TTL: N_("Tokens must expire within {days} days: write for example 30d, 12h or 2w."),
    ErrorCode.TOKEN_READ_ONLY_ROLE: N_("{name}'s role can only read: issue a read-only token."),
    ErrorCode.DURATION_INVALID: N_(
        "'{text}' is not a duration: write for example 30d (days), 12h (hours) or 2w (weeks)."
    ),
    ErrorCode.PASSWORD_SHORT: N_("Passwords need at least 12 characters."),
    ErrorCode.PASSWORD_LONG: N_("Passwords have at most 1024 characters."),
    ErrorCode.PASSWORD_REPEATED: N_(
        "This password repeats one character or a short pattern. Choose a longer mix, e.g. a few words."
    ),
    ErrorCode.PASSWORD_SEQUENCE: N_(
        "This password is a keyboard or alphabet sequence. Choose something less guessable."
    ),
    ErrorCode.PASSWORD_COMMON: N_("This is a common password (digits added at the end do not help). Choose another."),
    ErrorCode.PASSWORD_NAME: N_("The password must not contain your user name."),
    ErrorCode.PASSWORD_SAME: N_("The new password is the same as the current one."),
    ErrorCode.PASSWORD_WRONG_CURRENT: N_("The current password is wrong."),
    ErrorCode.MEDIA_UNREADABLE: N_("This is not an image file we can read."),
    ErrorCode.MEDIA_UNSUPPORTED: N_("The file is kept, but it is not an image or video that can be analysed."),
    ErrorCode.ENROL_NO_FACE: N_("No face was found in this photo."),
    ErrorCode.ENROL_MANY_FACES: N_("{count} faces were found: a reference photo must show only the artist."),
    ErrorCode.ENROL_FACE_SMALL: N_("The face is too small ({px} px; at least {need} px are needed)."),
    ErrorCode.ENROL_POOR_QUALITY: N_(
        "The face is not clear enough (quality {score}; at least {need}): choose a sharper, more frontal photo."
    ),
    ErrorCode.ENROL_NONE_USABLE: N_("No photo could be used as a reference for {name}; nothing was stored."),
    ErrorCode.ENROL_DUPLICATE: N_("This photo is already a reference of {artist}."),
    ErrorCode.ENROL_OTHER_ARTIST: N_(
        "This photo is already a reference of {artist}: one face cannot be two artists. If it was enrolled under "
        "the wrong artist, take it out there first (artists remove-photo)."
    ),
    ErrorCode.ENROL_BAD_NAME: N_(
        "The name {name} contains control or text-direction characters (such as ESC or U+202E): type it again "
        "without them."
    ),
    ErrorCode.REEMBED_VAULT_MISSING: N_(
        "The reference photo {photo} is no longer in the vault (missing or erased): its vector was kept as it was."
    ),
    ErrorCode.REEMBED_UNREADABLE: N_(
        "The reference photo {photo} could not be read from the vault ({reason}): its vector was kept as it was."
    ),
    ErrorCode.BATCH_PARTLY_FAILED: N_("{failed} of {total} failed."),
    ErrorCode.UPLOAD_NOT_STORED: N_("The upload could not be stored on the server; nothing was kept. Tell an admin."),
    # media decoding and its safety limits
    ErrorCode.MEDIA_CORRUPT: N_("The image or video is damaged or cut short and cannot be decoded; the file is kept."),
    ErrorCode.MEDIA_PIXEL_LIMIT: N_(
        "The image is {width}x{height} pixels, over the limit of {limit} pixels; the file is kept but not decoded."
    ),
    ErrorCode.MEDIA_BOMB: N_(
        "The image would decode beyond the limit of {limit} pixels (a decompression bomb?); the file is kept but "
        "not decoded."
    ),
    ErrorCode.MEDIA_FRAME_LIMIT: N_(
        "The video frames are {width}x{height} pixels, over the per-frame limit; the file is kept but not decoded."
    ),
    ErrorCode.MEDIA_TOO_LONG: N_(
        "The video lasts {seconds} s, over the limit of {limit} s; the file is kept but not analysed."
    ),
    ErrorCode.MEDIA_NO_VIDEO: N_("The file has no video stream; it is kept but not analysed."),
    ErrorCode.MEDIA_NO_FRAMES: N_("No frame of the video could be decoded; the file is kept."),
    # intake
    ErrorCode.INPUT_EMPTY: N_("The file is empty (0 bytes): there is nothing to preserve."),
    ErrorCode.INPUT_TOO_LARGE: N_("The file is over the size limit of {limit} bytes; nothing was stored."),
    ErrorCode.UPLOAD_INTERRUPTED: N_(
        "The upload was interrupted before every file arrived (the server stopped while receiving it). Nothing "
        "from it was stored or analysed: upload the files again."
    ),
    ErrorCode.UPLOAD_EXPIRED: N_(
        "The upload took too long to arrive: it was closed as interrupted before every file was received. Nothing "
        "from it was stored or analysed: upload the files again."
    ),
    ErrorCode.REQUEST_TOO_LARGE: N_(
        "The request is over the limit of {limit} bytes for requests that are not file uploads; nothing was done."
    ),
    ErrorCode.INPUT_CHANGED: N_("The file changed while it was being read; nothing was stored. Try again."),
    ErrorCode.INPUT_SEEN_AT: N_("'{text}' is not a time with a time zone: write it like 2026-11-01T12:30:00+09:00."),
    ErrorCode.ARCHIVE_ENTRIES: N_(
        "The archive has {count} entries, over the limit of {limit}; nothing in it was stored."
    ),
    ErrorCode.ARCHIVE_BOMB: N_(
        "The archive would expand {ratio}:1, over the limit of {limit}:1 (a zip bomb?); nothing in it was stored."
    ),
    ErrorCode.ARCHIVE_MEMBER_BOMB: N_("{name} expands beyond its declared size (a zip bomb?); it was not stored."),
    ErrorCode.ARCHIVE_CORRUPT: N_("The zip archive is damaged or cannot be read."),
    ErrorCode.ARCHIVE_MEMBER_NAME: N_(
        "Not stored: this archive entry has no usable name (it is empty or holds a NUL byte); the archive itself "
        "is kept."
    ),
    ErrorCode.ARCHIVE_MEMBER_PATH: N_(
        "Not stored: the name inside the archive is an absolute path or climbs out of its folder ('..'), which a "
        "genuine export does not do; the archive itself is kept."
    ),
    ErrorCode.ARCHIVE_MEMBER_LINK: N_("Not stored: this archive entry is a symbolic link, which is not followed."),
    ErrorCode.ARCHIVE_MEMBER_ENCRYPTED: N_(
        "Not stored: this archive entry is password-protected. Upload it again without the password."
    ),
    ErrorCode.ARCHIVE_MEMBER_TOO_LARGE: N_(
        "Not stored: this archive entry declares {size} bytes, over the per-file limit."
    ),
    ErrorCode.ARCHIVE_MEMBER_RATIO: N_(
        "Not stored: this archive entry would expand {ratio}:1, over the limit of {limit}:1 (a zip bomb?)."
    ),
    ErrorCode.ARCHIVE_TOTAL_SIZE: N_(
        "Not stored: the archive expands beyond the total-size limit here (a zip bomb?); the entries before it "
        "were stored."
    ),
    ErrorCode.SOURCE_URL_TOO_LONG: N_("The source URL is longer than {limit} characters."),
    ErrorCode.SOURCE_URL_SPACES: N_("The source URL '{url}' contains spaces or control characters."),
    ErrorCode.SOURCE_URL_NOT_WEB: N_(
        "The source URL '{url}' is not a web address: give the http:// or https:// address of the post or page "
        "where the media was found."
    ),
    ErrorCode.SOURCE_URL_INVALID: N_("The source URL '{url}' is not a valid web address."),
    ErrorCode.SOURCE_URL_NO_HOST: N_("The source URL '{url}' has no host name."),
    ErrorCode.STORAGE_FULL: N_(
        "The workspace's disk is full: the work stopped; everything recorded before is kept. Free space and try again."
    ),
    # analysis stages
    ErrorCode.STAGE_INTERNAL: N_(
        "This analysis step stopped on an internal error; the details are kept with its result for an administrator."
    ),
    ErrorCode.STAGE_MISSING_RESOURCE: N_(
        "This analysis step needs the workspace's {resource}, and none was provided: run it inside a workspace."
    ),
    # the vault
    ErrorCode.VAULT_MISSING: N_("The stored evidence {sha256} is missing from the vault; run a verification."),
    ErrorCode.VAULT_ERASED: N_(
        "The original of {sha256} was erased by a destruction decision, so it is not analysed again."
    ),
    ErrorCode.VAULT_ALTERED: N_("The stored evidence {sha256} no longer matches its hash; run a verification."),
    ErrorCode.VAULT_ITEM_KEY_MISSING: N_("The key of the stored evidence {sha256} is missing, so it cannot be read."),
    ErrorCode.VAULT_NOT_ENCRYPTED: N_("The vault is not encrypted: there are no item keys to give."),
    ErrorCode.VAULT_REENCRYPT_FAILED: N_("Re-encrypting {sha256} failed its check; the stored copy is unchanged."),
    ErrorCode.VAULT_KEY_UNDECIDED: N_(
        "Whether a newer key of {sha256} belongs to new evidence cannot be told without the vault key; the erasure "
        "waits."
    ),
    ErrorCode.EXPORT_EXISTS: N_("{name} already exists: choose a new folder."),
    ErrorCode.FOLDER_UNWRITABLE: N_("The folder {name} cannot be created."),
    # cases and accounts
    ErrorCode.CASE_UNKNOWN: N_("There is no case {key} (case numbers look like IG-2026-0007)."),
    ErrorCode.CASE_NEEDS_TITLE: N_("A case needs a title."),
    ErrorCode.CASE_NEEDS_ARTIST: N_("A case needs an artist."),
    ErrorCode.CASE_REF_UNREADABLE: N_(
        "'{text}' is not a reference: give an item's SHA-256 (or 8+ hex digits of it), incident:N, sighting:N, "
        "capture:N or account:PLATFORM/HANDLE."
    ),
    ErrorCode.CASE_REF_AMBIGUOUS: N_("More than one item starts with {ref}: give more digits."),
    ErrorCode.CASE_REF_KIND: N_("'{kind}' is not a kind of record: use item, incident, sighting, capture or account."),
    ErrorCode.CASE_REF_NUMBER: N_("'{text}' is not a number: these records are numbered."),
    ErrorCode.CASE_REF_ACCOUNT: N_("'{text}' is not an account: write account:ID or account:PLATFORM/HANDLE."),
    ErrorCode.CASE_STATUS_UNKNOWN: N_("'{status}' is not a case status: use one of {choices}."),
    ErrorCode.CASE_FILING_KIND: N_("'{kind}' is not a kind of filing: use one of {choices}."),
    ErrorCode.CASE_ROLE_UNKNOWN: N_("'{role}' is not a case role: use one of {choices}."),
    ErrorCode.CASE_NEEDS_ASSIGNEE: N_("Name the person to assign."),
    ErrorCode.ACCOUNT_NEEDS_HANDLE: N_("An account needs a platform and a handle."),
    ErrorCode.ACCOUNT_LINK_REASON: N_("Say why the two accounts are the same person: it is recorded."),
    ErrorCode.ACCOUNT_SELF_ALIAS: N_("An account cannot be its own alias."),
    ErrorCode.ACCOUNT_ALREADY_LINKED: N_("These accounts are already linked."),
    # takedown notices
    ErrorCode.TAKEDOWN_HEADER_INJECTION: N_("The {field} contains a line break or NUL character; it was refused."),
    ErrorCode.TAKEDOWN_WRONG_BASIS: N_("{recipient} does not take {basis} notices (it takes: {bases})."),
    ErrorCode.TAKEDOWN_LANG: N_("The notice's language must be Korean (ko) or English (en)."),
    ErrorCode.TAKEDOWN_NEEDS_ADDRESS: N_("{recipient} needs an e-mail address: give the address to send to."),
    ErrorCode.TAKEDOWN_NOT_WEB_URL: N_("Notice {id} lists {url}, which is not a web address: draft a new notice."),
    ErrorCode.TAKEDOWN_OTHER_CHANNEL: N_(
        "{recipient} is reached by {channel}, not e-mail: file notice {id} there, then mark it as sent."
    ),
    ErrorCode.TAKEDOWN_NOT_STORED: N_("The sent message of notice {id} could not be stored as evidence."),
    ErrorCode.TAKEDOWN_BAD_STATUS: N_("Choose one of the statuses: {statuses}."),
    ErrorCode.TAKEDOWN_NOT_ESCALATABLE: N_(
        "Notice {id} has the status '{status}': only sent notices without removal are escalated."
    ),
    ErrorCode.TAKEDOWN_NOT_DUE: N_(
        "Notice {id} is not due until {due}; to escalate before then, confirm the early escalation."
    ),
    ErrorCode.TAKEDOWN_NOT_IN_CASE: N_("The sighting(s) {ids} are not in {number}."),
    ErrorCode.TAKEDOWN_AFFIRM: N_("Choose the statements to affirm among: {keys}."),
    ErrorCode.TAKEDOWN_MISSING: N_("Notice {id} lacks elements its legal basis requires: {fields}."),
    ErrorCode.TAKEDOWN_UNKNOWN_BASIS: N_("'{basis}' is not a legal basis known here."),
    ErrorCode.TAKEDOWN_UNKNOWN_RECIPIENT: N_("'{recipient}' is not a recipient known here."),
    # incidents, triage and watched sources
    ErrorCode.INCIDENT_MERGED: N_("Incident {id} was merged into incident {into}: open that one."),
    ErrorCode.INCIDENT_STATE: N_("Choose one of the incident states: {choices}."),
    ErrorCode.TRIAGE_STATUS: N_("'{status}' is not a review status."),
    ErrorCode.TRIAGE_CONFLICT: N_("Someone else changed this item meanwhile; reload to see their decision."),
    ErrorCode.COMMENT_EMPTY: N_("An empty comment is not recorded: write something first."),
    ErrorCode.COMMENT_TOO_LONG: N_("Comments have at most {max} characters (this one has {length})."),
    ErrorCode.WATCH_INTERVAL: N_("'{text}' is not an interval: write a number and a unit, e.g. 30m, 6h or 1d."),
    ErrorCode.WATCH_INTERVAL_SHORT: N_("The interval '{text}' is shorter than one minute."),
    ErrorCode.WATCH_KIND: N_("'{kind}' is not a kind of source: choose one of {choices}."),
    ErrorCode.WATCH_URL: N_("{url} cannot be watched: give the public http(s) address of a page or account."),
    ErrorCode.WATCH_DUPLICATE: N_("{url} is already watched (source #{id})."),
    # hash banks and hash lists
    ErrorCode.BANK_UNKNOWN: N_("There is no hash bank named {name}."),
    ErrorCode.BANK_KIND_MISMATCH: N_(
        "A hash bank named {name} already exists, but its kind is {kind}, not {wanted}, so nothing was added to "
        "it. Rename that bank, then try again."
    ),
    ErrorCode.BANK_KIND_INVALID: N_("Choose one of the bank kinds: {kinds}."),
    ErrorCode.BANK_THRESHOLD: N_("The PDQ threshold must be between 0 and 64 bits (default 31); {threshold} is not."),
    ErrorCode.BANK_NAME_INVALID: N_(
        "'{name}' is not a bank name: use letters, digits, '-', '_' and '.' (at most 128 characters)."
    ),
    ErrorCode.BANK_EXISTS: N_("A hash bank named {name} already exists: choose another name."),
    ErrorCode.BANK_NO_ENTRY: N_("The hash bank {name} has no entry {entry}."),
    ErrorCode.BANK_MANAGED: N_(
        "The hash bank {name} is the official collection of {artist}, which 'artists official' finds by its "
        "name: it is not renamed or deleted with this command. Use 'artists official remove', or 'bank remove' "
        "for a collection whose artist is gone."
    ),
    ErrorCode.BANK_NAME_OFFICIAL: N_(
        "Bank names starting with 'official.' are kept for artists' official collections ('artists official "
        "add'): choose another name than {name}."
    ),
    ErrorCode.BANK_NAME_TRIAGE: N_(
        "The name {name} is the bank confirmed abuse is added to from the web triage: only a known_abuse bank "
        "may have it (this bank is {kind})."
    ),
    ErrorCode.BANK_NOT_EMPTY: N_(
        "The hash bank {name} still holds {entries} entries, so nothing was deleted. Add --force to delete them "
        "with the bank, or disable the bank to stop its matching and keep them."
    ),
    ErrorCode.BANK_HAS_MATCHES: N_(
        "The hash bank {name} has recorded matches ({hits} item(s) matched its entries, {results} stored scan "
        "result(s) name it): they are kept as evidence, so the bank was not deleted. Disable the bank instead: "
        "it stops matching and everything is kept."
    ),
    ErrorCode.BANK_ENTRY_HAS_MATCHES: N_(
        "Entry {entry} of the hash bank {name} has recorded matches ({hits} item(s) matched it): they are kept as "
        "evidence, so it was not removed. Disable the entry instead: it stops matching and everything is kept."
    ),
    ErrorCode.BANK_FORCE_REASON: N_(
        "Deleting the hash bank {name} with its entries needs a reason: it is recorded in the custody ledger. "
        "Nothing was deleted."
    ),
    ErrorCode.HASHES_FORMAT: N_("Choose one of the hash list formats: {formats}."),
    ErrorCode.HASHES_CSV_HEADER: N_("The CSV file needs a header line with a 'signal' (or 'hash' or 'value') column."),
    ErrorCode.HASHES_NOT_TEXT: N_("The hash list is not UTF-8 text."),
    ErrorCode.HASHES_JSON: N_("The JSON hash list is damaged or not in the StopNCII format."),
}

# What admins read instead (they may change settings, so the setting is named).
ADMIN_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BANK_KIND_MISMATCH: N_(
        "A hash bank named {name} already exists, but its kind is {kind}, not {wanted}, so nothing was added to "
        "it. Rename that bank (idolguard bank rename {name} NEW_NAME), then try again."
    ),
    ErrorCode.BANK_NOT_EMPTY: N_(
        "The hash bank {name} still holds {entries} entries, so nothing was deleted. Add --force to delete them "
        "with the bank, or run 'idolguard bank disable {name}' to stop its matching and keep them."
    ),
    ErrorCode.BANK_HAS_MATCHES: N_(
        "The hash bank {name} has recorded matches ({hits} item(s) matched its entries, {results} stored scan "
        "result(s) name it): they are kept as evidence, so the bank was not deleted. Run 'idolguard bank disable "
        "{name}' instead: it stops matching and everything is kept."
    ),
    ErrorCode.TAKEDOWN_NO_SMTP: N_(
        "E-mail sending is not set up: set host and sender in [takedowns.smtp] of config.toml."
    ),
    ErrorCode.CAPTURE_PRIVATE_ADDRESS: N_(
        "Not captured: {url} leads to a private address; allow it with capture.allow if it is meant."
    ),
}
