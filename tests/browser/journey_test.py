#!/usr/bin/python3
"""Issue 12's journey in a real browser, against a real relay and three real
`vigil app` processes (one per member).

Usage: journey_test.py BIN_DIR SCREENSHOT_DIR

The coordinator assigns a visit in the browser; the volunteer accepts it,
writes a note while the relay is stopped (the page says it is saved on this
device), the relay restarts and the note is seen sent, then amended; the
legal adviser's page updates by itself and shows both versions with valid
signatures, exports the bundle (a .zip that `vigil verify` accepts once
unzipped) and checks it on the Evidence screen (all green; a tampered copy
red; the unzipped folder green). Along the way: messages, members, devices, an invitation whose code
really works, Spanish, and the Lock button. A screenshot of each screen goes
to SCREENSHOT_DIR.
"""
import datetime
import glob
import json
import os
import re
import zipfile

from vigil_browser import Harness, check, wait_until

DETAINEE = 'D. Example'
FACILITY = 'Theo Lacy Facility, Orange CA'
NOTE_1 = 'Arrived 09:50. Guard said interpreter unavailable.'
NOTE_2 = 'Correction: arrived 09:55. Guard said interpreter unavailable.'


def unlock(b, member):
    b.heading('Unlock Vigil')
    b.type('Passphrase', member.passphrase)
    b.click('main button[type=submit]', 'Unlock')
    b.heading(f'Hello, {member.name}', timeout=30)


def assign(b, detainee, a_number, facility, hours_ahead, shot=None):
    """Cora's Assign a visit form, from the home screen; returns the visit id."""
    b.go('/')
    b.heading('Hello, Cora')
    b.click('#assign-open')
    b.type('Person to visit', detainee)
    if a_number:
        b.type('A-number (optional)', a_number)
    b.type('Facility', facility)
    at = (datetime.datetime.now() + datetime.timedelta(hours=hours_ahead)).strftime('%Y-%m-%dT%H:%M')
    b.set_value('Date and time', at)
    b.click('main label', 'Vic')
    b.click('main label', 'Lee')
    if shot:
        b.shot(shot)
    b.click('main button[type=submit]', 'Assign the visit')
    b.heading(f'Visit to {detainee}', timeout=30)
    return wait_until(lambda: re.search(r'#/visit/([0-9a-f]{32})$', b.d.current_url), 10, 'the visit URL').group(1)


def sync_until(b, app, cond, what, timeout=45):
    """Asks the app to sync (as a script would) until cond() holds."""
    def f():
        app.api('POST', '/api/sync')
        return cond()
    return wait_until(f, timeout, what, interval=0.5)


with Harness('journey') as hx:
    hx.step('relay and three members (CLI)')
    relay = hx.relay()
    cora = hx.member(relay, 'Cora', 'coordinator')
    vic = hx.member(relay, 'Vic', 'volunteer')
    lee = hx.member(relay, 'Lee', 'legal')
    for m in (cora, vic, lee):
        m.cli('sync')
    vic_fp = json.loads(vic.cli('whoami', '--json').stdout)['identity_fingerprint']

    hx.step('three apps')
    app_c, app_v, app_l = hx.app(cora.home), hx.app(vic.home), hx.app(lee.home)
    b = hx.browser()

    # --- Cora assigns a visit in the browser.
    hx.step('Cora unlocks and assigns a visit')
    b.open(app_c)
    b.shot('unlock')
    unlock(b, cora)
    visit_id = assign(b, DETAINEE, 'A123456789', FACILITY, 2, shot='assign')
    b.find_text('main .badge', 'Assigned')
    b.find_text('main dd', 'A123456789')
    b.shot('visit-assigned')

    hx.step('Cora assigns two more visits and cancels one')
    other_id = assign(b, 'M. Rivera', '', 'Adelanto ICE Processing Center', 26)
    cancel_id = assign(b, 'J. Okafor', '', 'Otay Mesa Detention Center', 50)
    b.click('main button', 'Cancel the visit…')
    b.type('Reason for cancelling (optional)', 'Facility closed to visitors')
    b.click('main button[type=submit]', 'Cancel the visit')
    b.find_text('main .badge', 'Cancelled', timeout=30)
    b.find_text('main tbody tr', 'Facility closed to visitors')
    b.go('/')
    b.heading('Hello, Cora')
    for name in (DETAINEE, 'M. Rivera', 'J. Okafor'):
        b.find_text('main a.visit-card', name)
    b.shot('home-coordinator')
    visits = app_c.api('GET', '/api/visits', expect=200)
    check(sorted(v['id'] for v in visits) == sorted([visit_id, other_id, cancel_id]),
          f'the API lists {visits}, not the three visits assigned')

    # Cora sends Vic a message and looks at the other screens.
    hx.step('Cora: messages, members, devices, invite, settings')
    b.go('/messages')
    b.heading('Messages')
    b.field('To')
    b.type('Message', 'Please confirm the visit today.')
    b.click('main button[type=submit]', 'Send')
    b.find_text('main .thread li', 'Please confirm the visit today.', timeout=30)
    b.find_text('main .thread .badge', 'delivered', timeout=30)
    b.shot('messages')
    b.go('/members')
    b.heading('Members')
    for m in (cora, vic, lee):
        b.find_text('main tbody th', m.name)
    b.shot('members')
    # Verify Vic in person: a wrong number is refused in words, the right one marks him checked.
    row = b.find_text('main tbody tr', 'Vic')
    row.find_element('css selector', 'button').click()
    b.heading('Members')
    b.find_text('main h2', 'Check Vic in person')
    wrong = ''.join('1' if c == '0' else '0' if c.isdigit() else c for c in vic_fp)
    b.type('The digits they read to you', wrong)
    b.click('main button[type=submit]', 'Confirm')
    wait_until(lambda: b.find('main form p[role=alert]').text.strip(), 15, 'the mismatch message')
    b.type('The digits they read to you', vic_fp)
    b.click('main button[type=submit]', 'Confirm')
    b.find_text('#status', 'Vic is checked', timeout=15)
    wait_until(lambda: 'checked' in b.find_text('main tbody tr', 'Vic').text and
               'not checked' not in b.find_text('main tbody tr', 'Vic').text, 15, 'Vic shown as checked')
    b.go('/devices')
    b.heading('My devices')
    b.find_text('main tbody', 'this device')
    b.shot('devices')
    b.go('/invite')
    b.heading('Invite someone')
    b.type('Their name in Vigil', 'Ana')
    b.click('main button[type=submit]', 'Create the invitation')
    code = b.find('#invite-code', timeout=30).get_attribute('value')
    check(len(code) > 20, f'the invitation code shown is "{code}"')
    b.click('main button', 'Copy')
    b.shot('invite')
    ana = hx.home('Ana')
    hx.run([hx.bin('vigil'), '--home', ana, 'init'], {'VIGIL_PASSPHRASE': 'ana pass'})
    hx.run([hx.bin('vigil'), '--home', ana, 'join', code], {'VIGIL_PASSPHRASE': 'ana pass'})
    b.go('/settings')
    b.heading('Settings')
    b.shot('settings')
    lang = b.field('Language')
    from selenium.webdriver.support.ui import Select
    Select(lang).select_by_value('es')
    b.click('main button[type=submit]', 'Save')
    b.heading('Ajustes', timeout=15)
    b.find_text('#lock-button', 'Bloquear')
    b.shot('settings-es')
    Select(b.field('Idioma')).select_by_value('en')
    b.click('main button[type=submit]', 'Guardar')
    b.heading('Settings', timeout=15)

    # --- Vic accepts, writes a note offline, sees it sent, amends it.
    hx.step('Vic accepts the visit')
    b.open(app_v)
    unlock(b, vic)
    cards = lambda: [e for e in b.d.find_elements('css selector', 'main a.visit-card')]  # noqa: E731
    sync_until(b, app_v, lambda: all(any(n in e.text for e in cards()) for n in (DETAINEE, 'M. Rivera', 'J. Okafor')),
               'the three visits on Vic\'s home screen')
    card = [e for e in cards() if DETAINEE in e.text]
    b.shot('home')
    card[0].click()
    b.heading(f'Visit to {DETAINEE}')
    b.click('main button', 'Accept this visit')
    b.find_text('main .badge', 'Accepted', timeout=30)
    b.shot('visit')

    hx.step('Vic declines the second visit (a reason is needed)')
    b.go(f'/visit/{other_id}')
    b.heading('Visit to M. Rivera')
    b.click('main button', 'Decline…')
    b.click('main button[type=submit]', 'Decline the visit')
    b.find_text('main p[role=alert]', 'Please say why.')
    b.type('Why can you not go?', 'Car broke down')
    b.click('main button[type=submit]', 'Decline the visit')
    b.find_text('main .badge', 'Declined', timeout=30)
    b.find_text('main tbody tr', 'Car broke down')
    b.go(f'/visit/{visit_id}')
    b.heading(f'Visit to {DETAINEE}')

    hx.step('the relay stops; Vic writes a note')
    relay.stop()
    b.click('main a', 'Write a note')
    b.heading(f'Note about the visit to {DETAINEE}')
    b.type('Your note', NOTE_1)
    b.find_text('main p', 'Draft kept on this device', timeout=15)
    draft = app_v.api('GET', f'/api/drafts/new:{visit_id}', expect=200)
    check(draft['text'] == NOTE_1, f'the draft kept is {draft!r}')
    b.shot('note-draft')
    b.click('main button[type=submit]', 'Save and sign')
    b.find_text('main p', 'Saved on this device, will be sent at next sync.', timeout=45)
    note_href = b.find_text('main a', 'Open the note').get_attribute('href')
    note_id = re.search(r'#/note/([0-9a-f]{32})$', note_href).group(1)
    b.shot('note-saved-offline')
    check(app_v.api('GET', f'/api/drafts/new:{visit_id}') .get('code') == 'not_found',
          'the draft is still there after the note was saved')
    b.go('/')
    b.click('main button', 'Sync now')
    wait_until(lambda: b.find('#offline-banner', timeout=1).is_displayed(), 45, 'the offline banner')
    b.shot('offline')

    hx.step('the relay is back; the note is sent')
    relay.restart()
    sync_until(b, app_v, lambda: app_v.api('GET', '/api/status')['outbox'] == 0, 'Vic\'s outbox to empty')
    b.go(f'/note/{note_id}')
    b.find_text('#send-state', 'everything you wrote has been sent', timeout=20)
    wait_until(lambda: not b.find('#offline-banner', timeout=1, visible=False).is_displayed(), 20,
               'the offline banner to go')
    b.shot('note-sent')

    hx.step('Vic amends the note')
    b.click('main a', 'Amend')
    b.heading('Amend a note')
    box = b.field('Your note')
    check(box.get_attribute('value') == NOTE_1, 'the amend editor does not start from the latest version')
    b.find_text('main article.version', NOTE_1)
    b.type('Your note', NOTE_2)
    b.shot('amend')
    b.click('main button[type=submit]', 'Save and sign')
    b.find_text('main p', 'Saved', timeout=45)
    sync_until(b, app_v, lambda: app_v.api('GET', '/api/status')['outbox'] == 0, 'the amendment to leave')

    # --- Lee: both versions, valid signatures, the bundle.
    hx.step('Lee sees both versions (live update)')
    b.open(app_l)
    unlock(b, lee)
    b.go(f'/visit/{visit_id}')
    b.heading(f'Visit to {DETAINEE}', timeout=30)
    # The page is not reloaded: the sync below is announced on /api/events.
    wait_until(lambda: (app_l.api('POST', '/api/sync') is not None and
                        [e for e in b.d.find_elements('css selector', 'main a.visit-card') if 'versions: 2' in e.text]),
               45, 'the note with 2 versions on Lee\'s visit page', interval=1)
    b.click('main a.visit-card', 'versions: 2')
    b.heading('versions: 2')
    versions = b.d.find_elements('css selector', 'main article.version')
    check(len(versions) == 2, f'{len(versions)} versions shown, not 2')
    check(NOTE_1 in versions[0].text and NOTE_2 in versions[1].text, 'the versions\' texts are not v1 then v2')
    for v in versions:
        check('Signature valid' in v.text, f'a version does not show a valid signature: {v.text[:200]}')
        check('Written by Vic' in v.text, f'a version does not name Vic: {v.text[:200]}')
        check('Relay notary' in v.text or 'device clock' in v.text, 'no timestamp source shown')
    b.shot('note-versions')

    hx.step('Lee exports the bundle; vigil verify accepts it')
    b.click('main a', 'Download evidence (.zip)')
    zpath = wait_until(lambda: [p for p in glob.glob(os.path.join(b.downloads, '*.zip'))], 30, 'the .zip download')[0]
    wait_until(lambda: not glob.glob(os.path.join(b.downloads, '*.crdownload')), 30, 'the download to finish')
    out = os.path.join(hx.dir, 'bundle')
    with zipfile.ZipFile(zpath) as z:
        z.extractall(out)
    tops = os.listdir(out)
    check(len(tops) == 1 and os.path.isdir(os.path.join(out, tops[0])), f'the zip holds {tops}, not one directory')
    bundle = os.path.join(out, tops[0])
    r = hx.run([hx.bin('vigil'), 'verify', bundle], check_exit=False)
    check(r.returncode == 0, f'vigil verify refused the downloaded bundle: {r.stderr}')
    check('Vic' in r.stdout, f'vigil verify does not name the author: {r.stdout}')

    hx.step('Lee checks the bundle on the Evidence screen; a tampered copy is red')
    b.go('/evidence')
    b.heading('Evidence')
    b.field('Bundle file (.zip)').send_keys(zpath)
    b.click('main button[type=submit]', 'Check this bundle')
    b.find_text('main p', 'Every claim in this bundle holds.', timeout=30)
    check(b.d.find_elements('css selector', 'main .claims li.ok') and
          not b.d.find_elements('css selector', 'main .claims li.bad'), 'the claims are not all green')
    b.shot('evidence-verified')
    bad = os.path.join(hx.dir, 'tampered.zip')
    with zipfile.ZipFile(zpath) as zin, zipfile.ZipFile(bad, 'w') as zout:
        names = [n for n in zin.namelist() if not n.endswith('/')]
        target = next(n for n in names if n.endswith('.json')) if any(n.endswith('.json') for n in names) else names[0]
        for n in zin.namelist():
            data = zin.read(n)
            if n == target:
                data = bytes([data[0] ^ 1]) + data[1:]
            zout.writestr(n, data)
    b.field('Bundle file (.zip)').send_keys(bad)
    b.click('main button[type=submit]', 'Check this bundle')
    b.find_text('main .claims li.bad', 'FAIL', timeout=30)
    b.shot('evidence-tampered')
    # The bundle folder itself (zipped by the page) checks green too.
    b.field('Or a bundle folder').send_keys(bundle)
    b.click('main button[type=submit]', 'Check this bundle')
    b.find_text('main p', 'Every claim in this bundle holds.', timeout=30)

    hx.step('Lock')
    b.click('#lock-button')
    b.heading('Unlock Vigil', timeout=15)
    check(app_l.api('GET', '/api/state')['store'] == 'locked', 'the store is not locked after Lock')
    check(b.d.find_element('id', 'nav').is_displayed() is False, 'the menu is still shown when locked')
    errors = b.console_errors()
    check(not errors, f'the browser console has errors: {errors}')

    for a in (app_c, app_v, app_l):
        a.stop()
