"""Shared helpers of the app's browser tests (tests/browser/*_test.py).

A real relay (`vigil-relay init/serve/invite`) on a free loopback port, real
members set up with the `vigil` CLI, real `vigil app` processes, and Debian's
headless Chromium driven by Selenium. Every wait has a timeout; every process
started here is stopped at the end (by its own pid). Nothing leaves
127.0.0.1.

    with Harness('journey') as hx:
        relay = hx.relay()
        cora = hx.member('Cora', 'coordinator')
        app = hx.app(cora)
        b = hx.browser()
        b.open(app)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
RELAY_PASSPHRASE = 'relay pass'


def require_browser():
    """Fails (never skips) with a clear message when the browser stack is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append('python3-selenium (for /usr/bin/python3)')
    if missing:
        print('FAIL: the browser tests need ' + ', '.join(missing) +
              '. Install them with ./deploy/install-deps.sh (Debian packages chromium, '
              'chromium-driver, python3-selenium).', file=sys.stderr)
        sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def wait_until(fn, timeout, what, interval=0.2):
    """Calls fn until it returns a true value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 (retried until the deadline)
            last_exc = e
        time.sleep(interval)
    raise TestFailure(f'timed out after {timeout} s waiting for {what}' +
                      (f' (last error: {last_exc})' if last_exc else ''))


class Process:
    """A background process with its stderr in a file."""

    def __init__(self, argv, env, cwd, log_path, stdout=subprocess.DEVNULL):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, 'ab')
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=stdout, stderr=self.log, start_new_session=True)

    def stderr(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def running(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code (SIGKILL and None after `timeout`)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
                self.log.close()
                return None
        self.log.close()
        return self.p.returncode


class Relay:
    def __init__(self, hx):
        self.hx = hx
        self.proc = None
        for _ in range(5):
            self.port = free_port()
            self.data = os.path.join(hx.dir, f'relay-{self.port}')
            r = hx.run([hx.bin('vigil-relay'), 'init', '--data', self.data, '--listen',
                        f'tcp://127.0.0.1:{self.port}'], {'VIGIL_RELAY_PASSPHRASE': RELAY_PASSPHRASE})
            self.fingerprint = r.stdout.splitlines()[0].strip() if r.stdout else ''
            if self.serve(retry_in_use=False):
                return
        raise TestFailure('no free port for the relay')

    def serve(self, retry_in_use=True):
        env = dict(self.hx.env, VIGIL_RELAY_PASSPHRASE=RELAY_PASSPHRASE)
        for _ in range(30 if retry_in_use else 1):
            self.proc = Process([self.hx.bin('vigil-relay'), 'serve', '--data', self.data], env,
                                self.hx.dir, os.path.join(self.hx.dir, f'relay-{self.port}.log'))
            self.hx.procs.append(self.proc)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                err = self.proc.stderr()
                if 'listening' in err:
                    return True
                if not self.proc.running():
                    break
                time.sleep(0.05)
            err = self.proc.stderr()
            self.proc.stop(5)
            if 'address in use' not in err:
                raise TestFailure('the relay did not start: ' + err[-2000:])
            time.sleep(0.2)
        return False

    def stop(self):
        code = self.proc.stop(5)
        check(code == 0, f'the relay did not exit 0 within 5 s of SIGTERM (exit {code})')

    def restart(self):
        if self.proc and self.proc.running():
            self.stop()
        check(self.serve(), 'the relay could not listen again on its port')

    def invite(self, role, name):
        r = self.hx.run([self.hx.bin('vigil-relay'), 'invite', '--data', self.data, '--role', role,
                         '--name', name], {'VIGIL_RELAY_PASSPHRASE': RELAY_PASSPHRASE})
        return r.stdout.strip()


class Member:
    def __init__(self, hx, name, role, passphrase, home):
        self.hx, self.name, self.role, self.passphrase, self.home = hx, name, role, passphrase, home

    def cli(self, *args, check_exit=True, timeout=60):
        return self.hx.run([self.hx.bin('vigil'), '--home', self.home, *args],
                           {'VIGIL_PASSPHRASE': self.passphrase}, check_exit=check_exit, timeout=timeout)


class App:
    """`vigil --home H app --no-browser --port P`, its one stdout line read."""

    def __init__(self, hx, home, extra=()):
        self.hx, self.home = hx, home
        for _ in range(5):
            port = free_port()
            log = os.path.join(hx.dir, f'app-{port}.log')
            self.proc = Process([hx.bin('vigil'), '--home', home, 'app', '--no-browser', '--port', str(port), *extra],
                                hx.env, hx.dir, log, stdout=subprocess.PIPE)
            hx.procs.append(self.proc)
            line = self._read_line(20)
            if line:
                break
            err = self.proc.stderr()
            self.proc.stop(5)
            if 'in use' not in err:
                raise TestFailure('vigil app printed no URL: ' + err[-2000:])
        m = re.fullmatch(r'http://127\.0\.0\.1:(\d+)/#k=([0-9a-f]{64})', line)
        check(m, f'vigil app printed "{line}", not http://127.0.0.1:PORT/#k=<64 hex>')
        self.url, self.port, self.token = line, int(m.group(1)), m.group(2)
        check(self.port == port, f'vigil app listens on {self.port}, not the --port {port} asked for')
        self.base = f'http://127.0.0.1:{self.port}'

    def _read_line(self, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.p.stdout, selectors.EVENT_READ)
        buf = b''
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and b'\n' not in buf:
            if not sel.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.proc.p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
        sel.close()
        return buf.decode(errors='replace').split('\n')[0].strip()

    def api(self, method, path, body=None, expect=None):
        """The JSON API with the token header (as scripts use it)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header('X-Vigil-Token', self.token)
        if method != 'GET':
            req.add_header('Content-Type', 'application/json')
            if data is None:
                req.data = b'{}'
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, raw = e.code, e.read()
        if expect is not None:
            check(code == expect, f'{method} {path}: HTTP {code}, expected {expect}: {raw[:300]!r}')
        return json.loads(raw) if raw else None

    def stop(self):
        code = self.proc.stop(10)
        check(code == 0, f'vigil app did not exit 0 within 10 s of SIGTERM (exit {code}): {self.proc.stderr()[-1000:]}')


class Browser:
    """One headless Chromium with its own profile in a temp dir."""

    def __init__(self, hx, size=(1100, 860)):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.hx = hx
        self.downloads = os.path.join(hx.dir, f'downloads-{len(hx.browsers)}')
        os.makedirs(self.downloads)
        o = webdriver.ChromeOptions()
        for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--disable-dev-shm-usage', '--lang=en-US', f'--window-size={size[0]},{size[1]}',
                  '--user-data-dir=' + tempfile.mkdtemp(prefix='chrome-', dir=hx.dir)):
            o.add_argument(a)
        o.binary_location = CHROMIUM
        o.add_experimental_option('prefs', {'download.default_directory': self.downloads,
                                            'download.prompt_for_download': False,
                                            'intl.accept_languages': 'en-US'})
        o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=os.path.join(hx.dir, 'chromedriver.log')),
                                  options=o)
        self.d.set_page_load_timeout(30)
        self.d.set_script_timeout(30)
        hx.browsers.append(self)
        self.app = None

    # -- navigation
    def open(self, app):
        """Opens the app as the member would: the URL with #k=TOKEN. Cookies
        of another app on 127.0.0.1 are dropped first (a clean browser per member)."""
        self.d.delete_all_cookies()
        self.app = app
        self.d.get(app.url)
        wait_until(lambda: '#k=' not in self.d.current_url, 10, 'the token to leave the address bar')
        wait_until(lambda: self.d.execute_script('return document.querySelector("main h1") !== null'), 20,
                   'the first screen')

    def go(self, route):
        self.d.execute_script('window.location.hash = arguments[0]', route)

    # -- finding things
    def find(self, css, timeout=15, visible=True):
        from selenium.webdriver.common.by import By

        def f():
            for e in self.d.find_elements(By.CSS_SELECTOR, css):
                if not visible or e.is_displayed():
                    return e
            return None
        return wait_until(f, timeout, f'"{css}" on the page')

    def find_text(self, css, text, timeout=15):
        """The first visible element matching css whose text contains `text`."""
        from selenium.webdriver.common.by import By

        def f():
            for e in self.d.find_elements(By.CSS_SELECTOR, css):
                if e.is_displayed() and text in e.text:
                    return e
            return None
        return wait_until(f, timeout, f'"{css}" containing "{text}"')

    def heading(self, text, timeout=15):
        return self.find_text('main h1', text, timeout)

    def click(self, css, text=None, timeout=15):
        e = self.find_text(css, text, timeout) if text else self.find(css, timeout)
        self.d.execute_script('arguments[0].scrollIntoView({block: "center"})', e)
        e.click()
        return e

    def field(self, label, timeout=15):
        """The input/select/textarea whose <label> says `label`."""
        lab = self.find_text('main label', label, timeout)
        return self.d.find_element('id', lab.get_attribute('for'))

    def type(self, label, text, clear=True):
        el = self.field(label)
        if clear:
            el.clear()
        el.send_keys(text)
        return el

    def set_value(self, label, value):
        """For inputs whose typing depends on the locale (datetime-local)."""
        el = self.field(label)
        self.d.execute_script(
            'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("input", {bubbles: true}))',
            el, value)
        return el

    def text(self):
        return self.d.find_element('tag name', 'body').text

    def shot(self, name, a11y=True):
        """Saves a screenshot of the screen, and (unless a11y=False) fails on
        any accessibility problem a11y.js finds on it."""
        os.makedirs(self.hx.shots, exist_ok=True)
        self.d.execute_script('window.scrollTo(0, 0)')
        time.sleep(0.3)  # let the last repaint land
        self.d.save_screenshot(os.path.join(self.hx.shots, f'{self.hx.name}-{name}.png'))
        if a11y:
            self.check_a11y(name)

    def check_a11y(self, where):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'a11y.js'), encoding='utf-8') as f:
            problems = self.d.execute_script(f.read())
        check(not problems, f'accessibility problems on the {where} screen: {problems}')

    def console_errors(self):
        out = []
        for e in self.d.get_log('browser'):
            if e['level'] == 'SEVERE' and 'favicon' not in e['message'] and 'Failed to load resource' not in e['message']:
                out.append(e['message'])
        return out

    def quit(self):
        try:
            self.d.quit()
        except Exception:  # noqa: BLE001 (best effort at teardown)
            pass


class Harness:
    """Temp dir, processes and browsers of one test; cleans up on exit and
    prints what is needed to understand a failure."""

    def __init__(self, name):
        self.name = name
        self.bin_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.abspath('build/bin')
        self.shots = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(
            os.path.dirname(self.bin_dir), 'browser-screenshots')
        self.procs, self.browsers = [], []
        self.t0 = time.monotonic()

    def __enter__(self):
        require_browser()
        for b in ('vigil', 'vigil-relay'):
            if not os.access(self.bin(b), os.X_OK):
                print(f'FAIL: {self.bin(b)} is missing: build first', file=sys.stderr)
                sys.exit(1)
        self.dir = tempfile.mkdtemp(prefix=f'vigil-browser-{self.name}-')
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('VIGIL_')}
        self.env['HOME'] = self.dir
        return self

    def __exit__(self, et, ev, tb):
        ok = et is None
        if not ok:
            print(f'FAIL: {self.name}: {ev}', file=sys.stderr)
            if et is not TestFailure:
                traceback.print_exception(et, ev, tb)
            for i, b in enumerate(self.browsers):
                try:
                    b.shot(f'FAILED-{i}', a11y=False)
                    print(f'--- browser {i} at {b.d.current_url}:\n{b.text()[:3000]}', file=sys.stderr)
                    for m in b.console_errors():
                        print(f'console: {m}', file=sys.stderr)
                except Exception:  # noqa: BLE001
                    pass
            for p in self.procs:
                print(f'--- {" ".join(p.argv[:4])} (stderr tail):\n{p.stderr()[-1500:]}', file=sys.stderr)
        for b in self.browsers:
            b.quit()
        for p in self.procs:
            p.stop(5)
        if ok:
            shutil.rmtree(self.dir, ignore_errors=True)
            print(f'PASS: {self.name} in {time.monotonic() - self.t0:.1f} s')
        else:
            print(f'(left {self.dir} for inspection)', file=sys.stderr)
            sys.exit(1)
        return True

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    def run(self, argv, extra_env=None, check_exit=True, timeout=60):
        env = dict(self.env, **(extra_env or {}))
        r = subprocess.run(argv, env=env, cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        if check_exit and r.returncode != 0:
            raise TestFailure(f'{" ".join(argv[:5])} exited {r.returncode}: {r.stderr.strip()[-1000:]}')
        return r

    def relay(self):
        return Relay(self)

    def home(self, name):
        return os.path.join(self.dir, f'home-{name}')

    def member(self, relay, name, role, passphrase=None):
        """init + join with the CLI, as in ACCEPTANCE.md journey 2."""
        m = Member(self, name, role, passphrase or f'{name.lower()} pass', self.home(name))
        m.cli('init')
        m.cli('join', relay.invite(role, name))
        return m

    def app(self, home, extra=()):
        return App(self, home, extra)

    def browser(self, size=(1100, 860)):
        return Browser(self, size)

    def step(self, what):
        print(f'[{time.monotonic() - self.t0:6.1f} s] {what}', flush=True)
