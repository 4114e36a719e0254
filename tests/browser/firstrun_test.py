#!/usr/bin/python3
"""First run in a real browser: a new member creates the store (passphrase
twice, strength hint) and joins with an invitation, seeing the relay's
fingerprint and their safety number; then a second device of an existing
member joins with a device link code and shows the same 6-digit comparison
as the member's other device.

Usage: firstrun_test.py BIN_DIR SCREENSHOT_DIR
"""
import json
import re

from vigil_browser import Harness, check, wait_until


def digits(s):
    return re.sub(r'\D', '', s)


def create_store(b, passphrase):
    b.heading('Welcome to Vigil')
    b.type('New passphrase', 'abc')
    b.find_text('main p', 'Strength: weak')
    b.type('New passphrase', passphrase)
    b.find_text('main p', 'Strength: strong')
    b.type('Type the passphrase again', passphrase + 'x')
    b.click('main button[type=submit]', 'Create my secure store')
    b.find_text('main p[role=alert]', 'not the same')
    b.type('Type the passphrase again', passphrase)
    b.shot('first-run')
    b.click('main button[type=submit]', 'Create my secure store')
    b.heading('Join your team', timeout=60)


with Harness('firstrun') as hx:
    relay = hx.relay()
    hx.step('a new member: init and join in the browser')
    home = hx.home('Nia')
    app = hx.app(home)
    state = app.api('GET', '/api/state', expect=200)
    check(state['store'] == 'none', f'a new home is in state {state}')
    b = hx.browser()
    b.open(app)
    create_store(b, 'four unrelated words here')
    b.type('Invitation or device code', relay.invite('volunteer', 'Nia'))
    b.shot('join')
    b.click('main button[type=submit]', 'Join')
    b.find_text('main h2', 'You have joined as Nia (volunteer)', timeout=60)
    dds = b.d.find_elements('css selector', 'main dd.fingerprint')
    check(len(dds) == 2, 'the relay fingerprint and the safety number are not both shown')
    check(digits(dds[0].text) and digits(dds[0].text) == digits(relay.fingerprint) or dds[0].text == relay.fingerprint,
          f'the page shows relay fingerprint "{dds[0].text}", vigil-relay init printed "{relay.fingerprint}"')
    who = app.api('GET', '/api/whoami', expect=200)
    check(dds[1].text.strip() == who['identity_fingerprint'],
          f'the safety number shown "{dds[1].text}" is not whoami\'s "{who["identity_fingerprint"]}"')
    b.shot('joined')
    b.click('main button', 'Continue')
    b.heading('Hello, Nia', timeout=30)
    app.stop()

    hx.step('a second device of Vic joins with a link code')
    vic = hx.member(relay, 'Vic', 'volunteer')
    code = vic.cli('device', 'link').stdout.strip()
    app2 = hx.app(hx.home('Vic-2'))
    b.open(app2)
    create_store(b, 'another four words passphrase')
    b.type('Invitation or device code', code)
    b.click('main button[type=submit]', 'Join')
    b.find_text('main h2', 'becoming a device of Vic', timeout=60)
    sas = b.find('main .sas').text.strip()
    check(len(digits(sas)) == 6 and re.fullmatch(r'[\d ]+', sas), f'the comparison code shown is "{sas}", not 6 digits')
    b.shot('link-compare')
    r = vic.cli('sync', check_exit=False)
    check(f'same code: {sas}' in r.stderr or f'same code: {digits(sas)}' in r.stderr, f'Vic\'s other device says "{r.stderr.strip()}", the page {sas}')
    b.click('main button', 'Continue')
    wait_until(lambda: app2.api('POST', '/api/sync') and app2.api('GET', '/api/state').get('joined'), 45,
               'the new device to finish joining')
    b.go('/')
    b.heading('Hello, Vic', timeout=30)

    hx.step('the new device revokes the old one; the relay refuses it')
    old_id = json.loads(vic.cli('whoami', '--json').stdout)['device_id']
    b.go('/devices')
    b.heading('My devices')
    wait_until(lambda: len(b.d.find_elements('css selector', 'main tbody tr')) == 2, 30, 'both devices listed')
    b.shot('devices-two')
    b.click(f'main button[aria-label="Revoke device {old_id[:8]}"]')
    b.d.switch_to.alert.accept()
    b.find_text('#status', f'Device {old_id[:8]} is revoked', timeout=30)
    wait_until(lambda: len(b.d.find_elements('css selector', 'main tbody tr')) == 1, 30, 'one device left')
    r = vic.cli('sync', check_exit=False)
    check(r.returncode != 0, f'the revoked device still syncs: {r.stdout} {r.stderr}')
    app2.stop()
