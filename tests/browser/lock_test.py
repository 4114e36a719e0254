#!/usr/bin/python3
"""Locking in a real browser, in a phone-sized window: a wrong passphrase
gets the CLI's own sentence, repeated ones slow down, the idle timeout
(10 s here) returns the page to the unlock screen by itself, and so does the Lock
button; afterwards the API refuses data (423) until unlocked again.

Usage: lock_test.py BIN_DIR SCREENSHOT_DIR
"""
import os
import time

from vigil_browser import Harness, check, wait_until

IDLE_S = 10

with Harness('lock') as hx:
    relay = hx.relay()
    vic = hx.member(relay, 'Vic', 'volunteer')
    # The CLI's words for a wrong passphrase (before the app holds the store).
    r = hx.run([hx.bin('vigil'), '--home', vic.home, 'whoami'], {'VIGIL_PASSPHRASE': 'not it'}, check_exit=False)
    check(r.returncode != 0, 'the CLI accepted a wrong passphrase')
    cli_words = r.stderr.strip().splitlines()[-1].removeprefix('vigil: ').strip()

    hx.step('app with a 10-second idle timeout (the test-only --idle-seconds), phone-sized window')
    app = hx.app(vic.home, ['--idle-seconds', str(IDLE_S)])
    b = hx.browser(size=(400, 820))
    b.open(app)
    b.heading('Unlock Vigil')

    hx.step('a wrong passphrase: the CLI\'s sentence')
    b.type('Passphrase', 'not it')
    b.click('main button[type=submit]', 'Unlock')
    err = b.find('#unlock-error')
    wait_until(lambda: err.text.strip(), 15, 'the wrong-passphrase message')
    check(err.text.strip() == cli_words, f'the page says "{err.text.strip()}", the CLI "{cli_words}"')
    b.shot('unlock-wrong')

    hx.step('unlock; the layout fits a phone')
    b.type('Passphrase', vic.passphrase)
    b.click('main button[type=submit]', 'Unlock')
    b.heading('Hello, Vic', timeout=30)
    unlocked_at = time.monotonic()
    check(b.find('#lock-button').is_displayed(), 'no Lock button on a phone-sized screen')
    overflow = b.d.execute_script('return document.documentElement.scrollWidth - window.innerWidth')
    check(overflow <= 0, f'the page is {overflow}px wider than a phone-sized window')
    b.shot('home-phone')

    hx.step('idle: the page returns to the unlock screen by itself')
    b.heading('Unlock Vigil', timeout=IDLE_S + 30)
    idle = time.monotonic() - unlocked_at
    check(idle >= IDLE_S - 1, f'locked after {idle:.0f} s, before the {IDLE_S}-second idle timeout')
    check(app.api('GET', '/api/state')['store'] == 'locked', 'the page shows the unlock screen but the store is open')
    check(not b.find('#nav', visible=False).is_displayed(), 'the menu is still shown after the idle lock')
    check('Hello, Vic' not in b.text(), 'the home screen is still on the page after the idle lock')
    b.shot('idle-locked')

    hx.step('settings: a backup, a new passphrase; the Lock button')
    b.type('Passphrase', vic.passphrase)
    b.click('main button[type=submit]', 'Unlock')
    b.heading('Hello, Vic', timeout=30)
    b.go('/settings')
    b.heading('Settings')
    backup = os.path.join(hx.dir, 'vic-backup')
    b.type('Where to save it (a full path on this computer)', backup)
    b.click('main button[type=submit]', 'Make a backup')
    b.find_text('main p', 'Backup written', timeout=30)
    check(os.path.exists(backup) and os.path.exists(backup + '.key'), 'no backup files were written')
    new_pass = 'a new passphrase for vic'
    b.type('Current passphrase', vic.passphrase)
    b.type('New passphrase', new_pass)
    b.type('New passphrase again', new_pass)
    b.click('main button[type=submit]', 'Change passphrase')
    b.find_text('main p', 'Your passphrase is changed.', timeout=60)
    b.shot('settings-phone')
    b.click('#lock-button')
    b.heading('Unlock Vigil', timeout=15)
    b.type('Passphrase', new_pass)
    b.click('main button[type=submit]', 'Unlock')
    b.heading('Hello, Vic', timeout=30)
    b.click('#lock-button')
    b.heading('Unlock Vigil', timeout=15)
    r = app.api('GET', '/api/visits')
    check(r and r.get('code') == 'locked', f'/api/visits after Lock answered {r}')
    b.find_text('#status', 'Vigil is locked')

    hx.step('repeated wrong passphrases slow down')
    said = set()
    for _ in range(8):
        b.type('Passphrase', 'still not it')
        b.click('main button[type=submit]', 'Unlock')
        wait_until(lambda: b.find('#unlock-error').text.strip(), 15, 'an answer')
        said.add(b.find('#unlock-error').text.strip())
        if any('Too many wrong passphrases' in s for s in said):
            break
    check(any('Too many wrong passphrases' in s for s in said), f'no slow-down after 8 wrong passphrases: {said}')
    b.shot('unlock-slow-down')
    app.stop()
