#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The real-DR tests (suite 'drreal'): programs run natively and under a
real DynamoRIO with -persist, with libpcache's adapter in DR clients.

    drreal.py --scenario NAME --mode sep|nosep --drrun DRRUN --inspect PCACHE_INSPECT
              --client SO --client-v1 SO --client-b SO --pie PROG
              --bbcount SO --bbcount-app PROG [--keep]

One scenario per call; meson runs each scenario in each mode as its own test
(tests/drreal/meson.build).  Modes: 'sep' is DR's default
-persist_map_rw_separate (the adapter carries rw in the ro segment), 'nosep'
is -no_persist_map_rw_separate (DR's rw slot).  Every run under DR must print
exactly what the native run printed, exit as it did, and leave no sign of a
DR or client crash; the test client (drreal_client.c) logs what it persisted,
resurrected, refused and checked, and each scenario checks that log.

Scenarios:
  pie      a PIE program with a shared library of its own: run 1 persists,
           run 2 resurrects every unit with the data intact and rebased (the
           modules moved: ASLR), DR's cache file offset given to on_patch is
           the one in the file, the images' views still right at exit
  ls       /bin/ls -l on a directory the test made: run 2 resurrects ls's unit
  bbcount  examples/bbcount on its app: run 2 resurrects the counters
  corrupt  a byte of the client's ro, rx and rw data flipped in a real .dpc
           (DR's header MD5 and whole-file MD5 kept valid): the adapter
           refuses with a reason, DR drops that pcache (it builds the code
           again), the output is the native one, nothing crashes
  merge    run 2 with -no_use_persisted and new input: DR merges with the
           file on disk, describe() gets merge_source; run 3 loads the union
  twolib   two client libraries, each with its own adapter, in one process;
           run 2 with both accepting, then with either refusing: the one DR
           called first accepted, DR dropped the pcache, and that library's
           views must still hold the right bytes at exit
  rebuilt  the client library rebuilt between the runs (same path, same
           name and version, functions moved): run 2 refuses every image with
           PCACHE_E_CLIENT_BUILD, the reason naming both builds

Exit status 0 when the scenario passed, 1 when it failed (what and why on
stdout); never 77: a real-DR test is not skipped.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

RUN_TIMEOUT = 60  # seconds per program run (the longest takes 2 s with debug DR); below the
# meson timeout, so that a hung run is killed here, with its process group
PIE_MODULES = ("drreal_pie", "libdrreal_testlib.so")
# What DR or the kernel print when DR or the application dies.
CRASH_MARKERS = re.compile(
    r"Internal Error|ASSERT|Unrecoverable|rank order violation|usage error|"
    r"Segmentation fault|SIGSEGV|SIGBUS|SIGILL|Aborted|core dumped|"
    r"Application .* crashed|Application exception|drreal: ")


class Fail(Exception):
    pass


# Debug checks of DR 11.91 that fail without any client, at a small rate,
# on the sequences these scenarios run (docs/DYNAMORIO.md 3.7).  A run that
# dies on one of them, and on nothing else, says nothing about libpcache: the
# scenario is started again from scratch in a fresh directory, up to
# DR_DEFECT_ATTEMPTS times in all, and each attempt is reported.  Every other
# crash fails the test at once.
KNOWN_DR_DEFECTS = [
    # fragment_coarse_add()'s DOCHECK (DR's own comment calls it racy): an
    # in-use merge's third run, with no client at all, 2 of 150 times.
    ("debug", re.compile(r"Internal Error: DynamoRIO debug check failure: \S*core/fragment\.c:\d+ xinfo != NULL$")),
]
DR_DEFECT_ATTEMPTS = 3


class DRDefect(Fail):
    """A run died on one of KNOWN_DR_DEFECTS and nothing else."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def say(msg):
    print(msg, flush=True)


# ---- the client's log ------------------------------------------------------


class Log:
    """Lines 'drreal NAME EVENT key=value ... [reason=rest of line]'."""

    def __init__(self, path):
        self.events = []
        self.blocks = {}  # (client, kind, module) -> set of offsets from the module start
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                parts = line.split(" ", 3)
                if len(parts) < 3 or parts[0] != "drreal":
                    continue
                ev = {"client": parts[1], "event": parts[2], "line": line}
                rest = parts[3] if len(parts) > 3 else ""
                if " reason=" in " " + rest:
                    i = (" " + rest).index(" reason=")
                    ev["reason"] = rest[i + len(" reason=") - 1:]
                    rest = rest[:max(i - 1, 0)]
                for kv in rest.split():
                    if "=" in kv:
                        k, v = kv.split("=", 1)
                        ev[k] = v
                if ev["event"] in ("bblocks", "pblocks", "rblocks"):
                    key = (ev["client"], ev["event"], ev.get("module", "?"))
                    offs = self.blocks.setdefault(key, set())
                    for o in filter(None, ev.get("offs", "").split(",")):
                        offs.add(int(o, 16))
                    continue
                self.events.append(ev)

    def find(self, event, **kw):
        return [e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in kw.items())]

    def one(self, event, **kw):
        evs = self.find(event, **kw)
        check(len(evs) == 1, "expected one '%s' event %s in the client's log, found %d" % (event, kw, len(evs)))
        return evs[0]

    def blockset(self, client, kind, module):
        return self.blocks.get((client, kind, module), set())


# ---- running programs ----------------------------------------------------------


class Run:
    def __init__(self, label, argv, rc, out, err, log, seconds):
        self.label, self.argv, self.rc, self.out, self.err = label, argv, rc, out, err
        self.log, self.seconds = log, seconds


class Env:
    def __init__(self, args):
        self.a = args
        self.mode = args.mode
        self.work = tempfile.mkdtemp(prefix="drreal-%s-%s-" % (args.scenario, args.mode))
        self.pcache = os.path.join(self.work, "pcache")
        os.mkdir(self.pcache)
        self.nrun = 0
        self.natives = {}
        self.times = []
        dr_root = os.path.dirname(os.path.dirname(os.path.realpath(args.drrun)))
        self.kind = "release" if os.path.isdir(os.path.join(dr_root, "lib64", "release")) else "debug"

    def execute(self, label, argv, env=None):
        t0 = time.monotonic()
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=full_env, start_new_session=True, cwd=self.work)
        try:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the group this run started, nothing else
            out, err = p.communicate()
            raise Fail("%s: no exit within %d s (killed): %s\nstderr:\n%s" %
                       (label, RUN_TIMEOUT, " ".join(argv), err.decode(errors="replace")[-3000:]))
        secs = time.monotonic() - t0
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), secs

    def native(self, prog_argv):
        key = tuple(prog_argv)
        if key not in self.natives:
            rc, out, err, _ = self.execute("native " + " ".join(prog_argv), prog_argv)
            check(rc == 0, "native run of %s exited %d:\n%s" % (" ".join(prog_argv), rc, err))
            self.natives[key] = (rc, out)
        return self.natives[key]

    def dr_options(self, extra=()):
        opts = ["-persist", "-persist_shared_dir", self.pcache, "-no_persist_per_user", "-no_validate_owner_dir",
                "-coarse_freeze_min_size", "0"]
        if self.mode == "nosep":
            opts.append("-no_persist_map_rw_separate")
        return opts + list(extra)

    def drrun(self, label, clients, prog_argv, extra=(), env=None, compare=True, wrap=()):
        """clients: list of (library, [options]); each gets -log LOG.  Runs
        the program under DR; checks exit status and stdout against the
        native run and that nothing crashed."""
        self.nrun += 1
        logpath = os.path.join(self.work, "log%d" % self.nrun)
        if len(clients) == 1 and clients[0][0] is not None:
            lib, opts = clients[0]
            argv = [self.a.drrun] + self.dr_options(extra) + ["-c", lib, "-log", logpath] + opts + ["--"] + prog_argv
        elif clients and all(c[0] is not None for c in clients):
            spec = ";".join("%s;%d;%s" % (lib, i, " ".join(["-log", logpath] + opts))
                            for i, (lib, opts) in enumerate(clients))
            argv = [self.a.drrun] + self.dr_options(extra) + ["-client_lib", spec, "--"] + prog_argv
        else:  # a client that is not ours (bbcount): its own options, no log
            lib, opts = clients[0][1]
            argv = [self.a.drrun] + self.dr_options(extra) + ["-c", lib] + opts + ["--"] + prog_argv
        argv = list(wrap) + argv
        rc, out, err, secs = self.execute(label, argv, env)
        with open(os.path.join(self.work, "stderr%d" % self.nrun), "w") as f:
            f.write(err)
        run = Run(label, argv, rc, out, err, Log(logpath), secs)
        self.times.append((label, secs))
        say("  %-46s %6.2f s  rc %d" % (label, secs, rc))
        crash = [l for l in err.splitlines() if CRASH_MARKERS.search(l)]
        if crash and all(any(kind == self.kind and pat.search(l.strip()) for kind, pat in KNOWN_DR_DEFECTS)
                         for l in crash):
            raise DRDefect("%s: DR failed its own check, a known DR defect that occurs without any client:\n  %s\n"
                           "(command: %s)" % (label, "\n  ".join(crash[:10]), " ".join(argv)))
        check(not crash, "%s: DR or the program reported a crash or an error:\n  %s\n(command: %s)" %
              (label, "\n  ".join(crash[:10]), " ".join(argv)))
        if compare:
            nrc, nout = self.native(prog_argv)
            check(rc == nrc, "%s: exit status %d, natively %d\nstderr:\n%s" % (label, rc, nrc, err[-3000:]))
            check(out == nout, "%s: output differs from the native run\n--- native\n%s--- under DR\n%s" %
                  (label, nout, out))
        for c in {e["client"] for e in run.log.events}:
            init = run.log.find("init", client=c)
            check(len(init) == 1, "%s: client %s logged %d init lines" % (label, c, len(init)))
            check(init[0]["rw_separate"] == ("0" if self.mode == "nosep" else "1"),
                  "%s: client %s sees -persist_map_rw_separate=%s in mode %s" %
                  (label, c, init[0]["rw_separate"], self.mode))
        return run

    def dpc_files(self):
        return sorted(f for f in os.listdir(self.pcache) if f.endswith(".dpc"))

    def dpc_of(self, module):
        # DR names the file MODULE-0xCHECKSUM.dpc (debug DR: MODULE-dbg-0x...)
        pat = re.compile(re.escape(module) + r"-(dbg-)?0x[0-9a-f]+\.dpc$")
        files = [f for f in self.dpc_files() if pat.match(f)]
        check(len(files) == 1, "expected one .dpc file of module %s in %s, found %s" %
              (module, self.pcache, self.dpc_files()))
        return os.path.join(self.pcache, files[0])

    def inspect(self, *args):
        p = subprocess.run([self.a.inspect, "--json"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        check(p.returncode in (0, 1), "pcache-inspect %s: exit %d: %s" %
              (" ".join(args), p.returncode, p.stderr.decode(errors="replace")))
        return json.loads(p.stdout)

    def save(self, name):
        dst = os.path.join(self.work, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(self.pcache, dst)

    def restore(self, name):
        shutil.rmtree(self.pcache)
        shutil.copytree(os.path.join(self.work, name), self.pcache)


# ---- checks shared by the scenarios -------------------------------------------


def client_ok(run, client, held_min=0):
    """No check failed, every held image's views right at exit."""
    bad = run.log.find("resurrect", client=client, result="check-failed")
    check(not bad, "%s: client %s: a resurrected image failed the client's checks: %s" %
          (run.label, client, "; ".join(e["line"] for e in bad)))
    bad = run.log.find("recheck-failed", client=client)
    check(not bad, "%s: client %s: views wrong at exit: %s" % (run.label, client, "; ".join(e["line"] for e in bad)))
    ex = run.log.one("exit", client=client)
    check(ex["recheck_bad"] == "0" and ex["recheck_ok"] == ex["held"],
          "%s: client %s at exit: %s" % (run.label, client, ex["line"]))
    check(int(ex["held"]) >= held_min, "%s: client %s holds %s images at exit, expected at least %d" %
          (run.label, client, ex["held"], held_min))
    return ex


def no_errors(run, client):
    errs = run.log.find("error", client=client)
    check(not errs, "%s: client %s was told of errors: %s" % (run.label, client, "; ".join(e["line"] for e in errs)))


def accepted(run, client, module):
    return run.log.find("resurrect", client=client, module=module, result="accepted")


def persisted(run, client, module):
    return run.log.find("persist", client=client, module=module)


def pcache_used(run1, run2, client, module):
    """Run 2 took the module's blocks from the pcache: it did not build
    again every block run 1 built (DR builds some again anyway)."""
    b1 = run1.log.blockset(client, "bblocks", module)
    b2 = run2.log.blockset(client, "bblocks", module)
    check(b1, "%s: client %s logged no block built in %s" % (run1.label, client, module))
    return not b1 <= b2, len(b1), len(b1 & b2)


def check_dropped(run1, run2, client, module):
    used, n1, again = pcache_used(run1, run2, client, module)
    check(not used, "%s: DR did not build %s's code again (%d of %d blocks rebuilt): it kept the pcache" %
          (run2.label, module, again, n1))
    say("    %s: DR built all %d blocks of run 1 again (pcache dropped)" % (module, n1))


def check_used(run1, run2, client, module):
    used, n1, again = pcache_used(run1, run2, client, module)
    check(used, "%s: DR built all %d blocks of %s again: the pcache was not used" % (run2.label, n1, module))
    say("    %s: %d of run 1's %d blocks built again, the rest came from the pcache" % (module, again, n1))


def check_patch_offsets(env, run, client, modules):
    """on_patch's cache file offset is the cache's offset in the file DR wrote
    (docs/DYNAMORIO.md 1.5): exact, or 'none', never wrong.  Only for the
    last persist of each module in this run (the file on disk)."""
    for module in modules:
        patches = run.log.find("patch", client=client, module=module)
        if not patches:
            continue
        p = patches[-1]
        info = env.inspect("info", env.dpc_of(module))
        regions = {r["name"]: r for r in info["dr"]["regions"]}
        check("cache" in regions, "pcache-inspect found no cache region in %s" % env.dpc_of(module))
        check(p["cache_offset"] != "none",
              "%s: client %s: on_patch for %s was given no cache file offset (UINT64_MAX); the file has it at %#x" %
              (run.label, client, module, regions["cache"]["file_offset"]))
        check(int(p["cache_offset"], 16) == regions["cache"]["file_offset"],
              "%s: client %s: on_patch for %s was told the cache is at file offset %s; DR wrote it at %#x" %
              (run.label, client, module, p["cache_offset"], regions["cache"]["file_offset"]))


def check_files_valid(env):
    for f in env.dpc_files():
        v = env.inspect("verify", os.path.join(env.pcache, f))
        check(v["valid"], "pcache-inspect verify %s: %s" %
              (f, "; ".join(p["message"] for p in v.get("problems", []))))


def rebased(run, client, module):
    """Every resurrect of module: the unit moved (ASLR) and the client's
    rebased pointers held (else it would have logged check-failed)."""
    evs = accepted(run, client, module)
    check(evs, "%s: client %s resurrected nothing of %s" % (run.label, client, module))
    return [e for e in evs if e["start"] != e["persisted_start"]]


def aslr_on():
    """The kernel randomizes, and this process (whose children inherit
    it) was not started with setarch -R (ADDR_NO_RANDOMIZE)."""
    try:
        with open("/proc/sys/kernel/randomize_va_space") as f:
            if f.read().strip() == "0":
                return False
        with open("/proc/self/personality") as f:
            return not int(f.read().strip(), 16) & 0x0040000
    except (OSError, ValueError):
        return False


def moved_env():
    """With ASLR off, a library preloaded in run 2 only moves the program's
    own shared library (mappings shift by its size)."""
    if aslr_on():
        return None
    for lib in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"):
        if os.path.exists(lib):
            return {"LD_PRELOAD": lib}
    raise Fail("ASLR is off and no libm.so.6 to preload: cannot make the modules move between runs")


# ---- scenarios ---------------------------------------------------------------------


def client_opts(*extra):
    return ["-track", ",".join(PIE_MODULES)] + list(extra)


def sc_pie(env):
    prog = [env.a.pie, "x", "y"]
    c = [(env.a.client, client_opts())]
    r1 = env.drrun("run 1 (persist)", c, prog)
    for m in PIE_MODULES:
        check(persisted(r1, "drreal", m), "run 1: no unit of %s persisted" % m)
    check(not r1.log.find("resurrect"), "run 1: resurrected something from an empty directory")
    no_errors(r1, "drreal")
    client_ok(r1, "drreal")
    check_patch_offsets(env, r1, "drreal", PIE_MODULES)
    check_files_valid(env)
    r2 = env.drrun("run 2 (resurrect)", c, prog, env=moved_env())
    no_errors(r2, "drreal")
    ex = client_ok(r2, "drreal", held_min=len(PIE_MODULES))
    moved = []
    for m in PIE_MODULES:
        evs = accepted(r2, "drreal", m)
        check(evs, "run 2: %s was not resurrected" % m)
        check(all(e["gen"] == "1" and e["variant"] == "0" for e in evs), "run 2: %s: %s" % (m, evs[0]["line"]))
        # every block run 1 persisted came back, at the same module offset
        p1 = r1.log.blockset("drreal", "pblocks", m)
        rb = r2.log.blockset("drreal", "rblocks", m)
        check(p1 and p1 == rb, "run 2: %s: blocks resurrected differ from those persisted (%d persisted, %d back, "
              "%d missing)" % (m, len(p1), len(rb), len(p1 - rb)))
        check_used(r1, r2, "drreal", m)
        moved += rebased(r2, "drreal", m)
    check(moved, "run 2: no module of the program moved between the runs: ASLR not exercised")
    for e in moved:
        say("    %s moved %s -> %s, its data rebased" % (e["module"], e["persisted_start"], e["start"]))
    say("    run 2: %s images held, their views right at exit" % ex["held"])


def sc_ls(env):
    d = os.path.join(env.work, "dir")
    os.mkdir(d)
    for i, name in enumerate(["alpha", "beta.txt", "gamma", "delta.dat", "with space"]):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write("x" * (i * 37))
        os.utime(p, (1700000000 + i, 1700000000 + i))
    os.mkdir(os.path.join(d, "sub"))
    os.utime(os.path.join(d, "sub"), (1700000100, 1700000100))
    ls = shutil.which("ls", path="/bin:/usr/bin") or "/bin/ls"
    prog = [ls, "-l", "--time-style=+%s", d]
    c = [(env.a.client, ["-track", "ls"])]
    r1 = env.drrun("run 1 (persist)", c, prog)
    check(persisted(r1, "drreal", "ls"), "run 1: no unit of ls persisted")
    no_errors(r1, "drreal")
    client_ok(r1, "drreal")
    check_files_valid(env)
    r2 = env.drrun("run 2 (resurrect)", c, prog)
    no_errors(r2, "drreal")
    client_ok(r2, "drreal", held_min=1)
    check(accepted(r2, "drreal", "ls"), "run 2: ls's unit was not resurrected")
    check_used(r1, r2, "drreal", "ls")
    n = len(r2.log.find("resurrect", result="accepted"))
    say("    run 2 resurrected %d units (ls and its libraries)" % n)


def sc_bbcount(env):
    app = env.a.bbcount_app
    rc, rng, err, _ = env.execute("bbcount_app --range", [app, "--range"])
    check(rc == 0 and rng.strip(), "bbcount_app --range failed: %s" % err)
    c = [(None, (env.a.bbcount, ["-range", rng.strip()]))]
    count = re.compile(r"^bbcount: executed (\d+) blocks (\d+) times$", re.M)
    res = re.compile(r"^bbcount: resurrected (\d+) units, (\d+) blocks, (\d+) executions", re.M)
    r1 = env.drrun("run 1 (persist)", c, [app])
    r2 = env.drrun("run 2 (resurrect)", c, [app])
    for r in (r1, r2):
        check(not re.search(r"^bbcount: pcache:", r.err, re.M), "%s: bbcount reports a pcache error:\n%s" %
              (r.label, r.err))
    c1, c2 = count.search(r1.err), count.search(r2.err)
    check(c1 and c2, "bbcount printed no count:\n%s\n%s" % (r1.err, r2.err))
    check(c1.groups() == c2.groups(), "run 2 counted %s, run 1 %s" % (c2.groups(), c1.groups()))
    s1, s2 = res.search(r1.err), res.search(r2.err)
    check(s1 and s1.group(1) == "0", "run 1 resurrected something: %s" % (s1.group(0) if s1 else r1.err))
    check(s2 and int(s2.group(1)) >= 1, "run 2 resurrected no unit: %s" % (s2.group(0) if s2 else r2.err))
    check(s2.group(3) == c1.group(2), "run 2 resurrected %s executions, run 1 counted %s" %
          (s2.group(3), c1.group(2)))
    check_files_valid(env)
    say("    both runs counted %s blocks %s times; run 2 resurrected them" % c1.groups())


def fix_file_md5(path):
    """DR's footer: MD5 of the file before the 36-byte footer, MD5 of the
    header, magic.  Recompute the first (DR checks only the header's by
    default, but then the file is right by every DR check)."""
    with open(path, "r+b") as f:
        data = f.read()
        check(data[-4:] == b"RIO$", "%s: no DR footer" % path)
        f.seek(len(data) - 36)
        f.write(hashlib.md5(data[:-36]).digest())


def sc_corrupt(env):
    prog = [env.a.pie, "x", "y"]
    c = [(env.a.client, client_opts())]
    r1 = env.drrun("run 1 (persist)", c, prog)
    no_errors(r1, "drreal")
    env.save("pristine")
    rw_class, rw_name = ("ro", ".rw/state") if env.mode == "sep" else ("rw", "state")
    statuses = []
    for cls, name, label in (("ro", "table", "ro"), ("rx", "code", "rx"), (rw_class, rw_name, "rw")):
        env.restore("pristine")
        path = env.dpc_of("drreal_pie")
        secs = env.inspect("sections", path)
        match = [s for s in secs["sections"] if s["class"] == cls and s["name"] == name]
        check(len(match) == 1, "%s: expected one %s section '%s', found %d" % (path, cls, name, len(match)))
        s = match[0]
        where = s["file_offset"] + s["size"] // 2
        with open(path, "r+b") as f:
            f.seek(where)
            b = f.read(1)
            f.seek(where)
            f.write(bytes([b[0] ^ 0xA5]))
        fix_file_md5(path)
        info = env.inspect("info", path)
        footer = info["dr"]["footer"]
        check(footer["header_md5"]["match"] and footer["file_md5"]["match"],
              "after the flip, DR's MD5s do not match: %s" % footer)
        v = env.inspect("verify", path)
        probs = [p for p in v.get("problems", []) if p.get("section") == name]
        check(not v["valid"] and probs, "pcache-inspect verify does not see the flipped byte in %s:%s" % (cls, name))
        r2 = env.drrun("run 2, %s byte flipped at %#x" % (label, where), c, prog)
        errs = [e for e in r2.log.find("error", client="drreal", module="drreal_pie")]
        check(errs, "run 2 (%s flipped): the adapter did not refuse the image: %s" %
              (label, [e["line"] for e in r2.log.find("resurrect", module="drreal_pie")]))
        for e in errs:
            check(e.get("status", "").startswith("PCACHE_E_") and e.get("reason"),
                  "run 2 (%s flipped): error without status or reason: %s" % (label, e["line"]))
        check(not accepted(r2, "drreal", "drreal_pie"),
              "run 2 (%s flipped): the client was handed the corrupted image" % label)
        check(not r2.log.find("resurrect", client="drreal", module="drreal_pie"),
              "run 2 (%s flipped): on_resurrect was called for the corrupted image" % label)
        check(accepted(r2, "drreal", "libdrreal_testlib.so"),
              "run 2 (%s flipped): the intact library's pcache was not resurrected" % label)
        client_ok(r2, "drreal")
        check_dropped(r1, r2, "drreal", "drreal_pie")
        statuses.append("%s: %s (%s)" % (label, errs[0]["status"], errs[0]["reason"]))
        say("    refused: " + statuses[-1])
    # DR wrote the unit again at the end of the last run: it loads
    r3 = env.drrun("run 3 (the file DR wrote again)", c, prog)
    no_errors(r3, "drreal")
    client_ok(r3, "drreal")
    check(accepted(r3, "drreal", "drreal_pie"), "run 3: DR's rewritten pcache of drreal_pie was not resurrected")


def merge_runs(env, what, wrap, r2_extra, merge_source, r2_env=None):
    """Run 1 persists input x; run 2 builds input y (new code) and persists
    the union; run 3 (input x y) must resurrect the union.  merge_source:
    describe() in run 2 must be told the image DR merged."""
    c = [(env.a.client, client_opts())]
    r1 = env.drrun("%s: run 1 (persist, input x)" % what, c, [env.a.pie, "x"], wrap=wrap)
    no_errors(r1, "drreal")
    r2 = env.drrun("%s: run 2 (%s, input y)" % (what, " ".join(r2_extra) or "load"), c, [env.a.pie, "y"],
                   extra=r2_extra, wrap=wrap, env=r2_env)
    no_errors(r2, "drreal")
    client_ok(r2, "drreal")
    for m in PIE_MODULES:
        b1 = r1.log.blockset("drreal", "bblocks", m)
        b2 = r2.log.blockset("drreal", "bblocks", m)
        check(b2 - b1, "%s: input y built no new block in %s: the merge would show nothing" % (what, m))
        # DR loaded the file (the client accepted it): on disk before
        # persisting (describe() is told which image that was), or at start
        check(accepted(r2, "drreal", m), "%s: run 2: DR did not load %s's file" % (what, m))
        p = persisted(r2, "drreal", m)
        check(p, "%s: run 2: %s not persisted" % (what, m))
        if merge_source:
            check(p[-1]["merge_source"] == "held", "%s: run 2: describe() of %s got merge_source=%s: %s" %
                  (what, m, p[-1]["merge_source"], p[-1]["line"]))
        check(p[-1]["gen"] == "2", "%s: run 2: %s persisted as generation %s, expected 2" % (what, m, p[-1]["gen"]))
        pb = r2.log.blockset("drreal", "pblocks", m)
        check(b1 | b2 <= pb, "%s: run 2: %s persisted %d blocks, missing %d of the union" %
              (what, m, len(pb), len((b1 | b2) - pb)))
    check_files_valid(env)
    r3 = env.drrun("%s: run 3 (load, input x y)" % what, c, [env.a.pie, "x", "y"],
                   wrap=wrap)
    no_errors(r3, "drreal")
    client_ok(r3, "drreal", held_min=len(PIE_MODULES))
    for m in PIE_MODULES:
        b1 = r1.log.blockset("drreal", "bblocks", m)
        b2 = r2.log.blockset("drreal", "bblocks", m)
        rb = r3.log.blockset("drreal", "rblocks", m)
        ev = accepted(r3, "drreal", m)
        check(ev and ev[0]["gen"] == "2", "%s: run 3: %s: %s" % (what, m, ev[0]["line"] if ev else "not resurrected"))
        check(b1 | b2 <= rb, "%s: run 3: the client got %d blocks of %s, not the union of runs 1 and 2 (%d + %d, "
              "%d missing)" % (what, len(rb), m, len(b1), len(b2), len((b1 | b2) - rb)))
        say("    %s: run 3 resurrected %d blocks, the union of run 1's %d and run 2's %d" %
            (m, len(rb), len(b1), len(b2)))
    return r1, r2, r3


def sc_merge(env):
    # 1. The brief's merge: run 2 with -no_use_persisted, so DR merges the
    #    code it built with the file on disk when it persists
    #    (-coarse_lone_merge).  With ASLR off: DR 11.91 does not relocate
    #    what it merges from a file written with the module elsewhere, and
    #    the run loading the result jumps to the module's old address, with
    #    or without a client (docs/DYNAMORIO.md, DR defects).
    norand = [shutil.which("setarch") or "setarch", platform.machine(), "-R"]
    merge_runs(env, "disk merge", norand, ["-no_use_persisted"], True)
    # 2. With ASLR: run 2 loads the pcache for execution and DR merges its
    #    new code into the loaded unit before persisting it again (other
    #    units' callbacks come in between: no merge_source; the client
    #    holds the image it loaded).
    shutil.rmtree(env.pcache)
    os.mkdir(env.pcache)
    r1, r2, r3 = merge_runs(env, "in-use merge", [], [], False, r2_env=moved_env())
    moved = [e for r in (r2, r3) for m in PIE_MODULES for e in rebased(r, "drreal", m)]
    check(moved, "in-use merge: no module moved between the runs: ASLR not exercised")


def sc_twolib(env):
    prog = [env.a.pie, "x", "y"]
    A, B = "drreal_a", "drreal_b"

    def clients(refuse=None):
        return [(env.a.client, client_opts("-name", A, *(["-refuse"] if refuse == A else []))),
                (env.a.client_b, client_opts("-name", B, *(["-refuse"] if refuse == B else [])))]

    r1 = env.drrun("run 1 (persist, two libraries)", clients(), prog)
    for cl in (A, B):
        no_errors(r1, cl)
        for m in PIE_MODULES:
            check(persisted(r1, cl, m), "run 1: %s persisted nothing for %s" % (cl, m))
    check_patch_offsets(env, r1, A, PIE_MODULES)
    check_patch_offsets(env, r1, B, PIE_MODULES)
    check_files_valid(env)
    env.save("pristine")
    r2 = env.drrun("run 2 (both accept)", clients(), prog)
    for cl in (A, B):
        no_errors(r2, cl)
        client_ok(r2, cl, held_min=len(PIE_MODULES))
        for m in PIE_MODULES:
            check(accepted(r2, cl, m), "run 2: %s did not resurrect %s" % (cl, m))
    check_used(r1, r2, A, "drreal_pie")
    second_refused = []
    for refuser, other in ((A, B), (B, A)):
        env.restore("pristine")
        r = env.drrun("run 2 (%s refuses)" % refuser, clients(refuser), prog)
        check(r.log.find("resurrect", client=refuser, module="drreal_pie", result="refused-by-option"),
              "%s: %s was not asked about drreal_pie's pcache" % (r.label, refuser))
        # the order DR called the libraries in, for the program's unit
        order = [e["client"] for e in r.log.events
                 if e["event"] == "resurrect" and e["module"] == "drreal_pie"][:2]
        if order and order[0] == other:
            check(order == [other, refuser], "%s: call order %s" % (r.label, order))
            second_refused.append(refuser)
            say("    %s accepted first, then %s (called second) refused: DR dropped the pcache" % (other, refuser))
            check(accepted(r, other, "drreal_pie"), "%s: %s did not accept" % (r.label, other))
            # it still holds that image: its views must be private and right
            client_ok(r, other, held_min=1)
        else:
            say("    %s (called first) refused; %s was not asked" % (refuser, other))
            check(not accepted(r, other, "drreal_pie") or order[0] == other,
                  "%s: %s accepted after %s refused" % (r.label, other, refuser))
            client_ok(r, other)
        no_errors(r, other)
        check_dropped(r1, r, other, "drreal_pie")
    check(second_refused, "in neither order did the library DR calls second refuse: not tested")


def build_id(path):
    """The GNU build-id (hex) of an ELF64 little-endian file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "%s: not ELF64 LE" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", data, shoff + i * shentsize + 4)
        if sh_type != 7:  # SHT_NOTE
            continue
        off, size = struct.unpack_from("<QQ", data, shoff + i * shentsize + 0x18)
        p = off
        while p + 12 <= off + size:
            namesz, descsz, ntype = struct.unpack_from("<III", data, p)
            name = data[p + 12:p + 12 + namesz]
            dp = p + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and name.rstrip(b"\0") == b"GNU":
                return data[dp:dp + descsz].hex()
            p = dp + ((descsz + 3) & ~3)
    return None


def names_build(reason, bid):
    """The reason names the build: its build-id in hex, whole or at least
    its first 8 digits."""
    return any(len(h) >= 8 and bid.startswith(h) for h in re.findall(r"[0-9a-fA-F]{8,}", reason.lower()))


def sc_rebuilt(env):
    prog = [env.a.pie, "x", "y"]
    lib = os.path.join(env.work, "libdrreal_rebuilt.so")
    id0, id1 = build_id(env.a.client), build_id(env.a.client_v1)
    check(id0 and id1 and id0 != id1, "the two client builds need distinct GNU build-ids: %s %s" % (id0, id1))

    def install(src):
        tmp = lib + ".new"
        shutil.copyfile(src, tmp)
        os.replace(tmp, lib)

    install(env.a.client)
    c = [(lib, client_opts())]
    r1 = env.drrun("run 1 (build %s)" % id0[:12], c, prog)
    no_errors(r1, "drreal")
    i1 = r1.log.one("init", client="drreal")
    install(env.a.client_v1)
    r2 = env.drrun("run 2 (rebuilt: build %s)" % id1[:12], c, prog)
    i2 = r2.log.one("init", client="drreal")
    check(i1["variant"] == "0" and i2["variant"] == "1", "the runs did not load the two builds: %s / %s" %
          (i1["line"], i2["line"]))
    check(i1["marker_offset"] != i2["marker_offset"], "the rebuilt client's functions did not move")
    check(not r2.log.find("resurrect", result="accepted"),
          "run 2: the rebuilt client accepted images of the first build: %s" %
          [e["line"] for e in r2.log.find("resurrect", result="accepted")][:3])
    errs = r2.log.find("error", client="drreal")
    check(errs, "run 2: no image was refused")
    own = ["%s: %s" % (e["module"], e["what"]) for e in r2.log.find("resurrect", client="drreal",
                                                                     result="check-failed")]
    for e in errs:
        check(e.get("status") == "PCACHE_E_CLIENT_BUILD",
              "run 2: an image of the first build was refused with %s, not PCACHE_E_CLIENT_BUILD: %s%s" %
              (e.get("status"), e.get("reason"),
               "\n  (the adapter bound it; the client's own checks then failed: %s)" % ", ".join(own) if own else ""))
        check(names_build(e["reason"], id0) and names_build(e["reason"], id1),
              "run 2: the reason does not name both builds (%s, %s): %s" % (id0, id1, e["reason"]))
    for m in PIE_MODULES:
        check(r2.log.find("error", client="drreal", module=m), "run 2: %s's image was not refused" % m)
    check_dropped(r1, r2, "drreal", "drreal_pie")
    say("    refused: %s" % errs[0]["reason"])


SCENARIOS = {
    "pie": sc_pie,
    "ls": sc_ls,
    "bbcount": sc_bbcount,
    "corrupt": sc_corrupt,
    "merge": sc_merge,
    "twolib": sc_twolib,
    "rebuilt": sc_rebuilt,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--mode", required=True, choices=["sep", "nosep"])
    for opt in ("drrun", "inspect", "client", "client-v1", "client-b", "pie", "bbcount", "bbcount-app"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    for opt in ("drrun", "inspect", "client", "client_v1", "client_b", "pie", "bbcount", "bbcount_app"):
        path = os.path.abspath(getattr(args, opt))  # runs start in a work directory
        setattr(args, opt, path)
        if not os.path.exists(path):
            say("FAIL: --%s %s: no such file" % (opt.replace("_", "-"), path))
            return 1
    t0 = time.monotonic()
    ok = False
    for attempt in range(1, DR_DEFECT_ATTEMPTS + 1):
        env = Env(args)
        say("scenario %s, mode %s (%s), DynamoRIO %s build, in %s%s" %
            (args.scenario, args.mode, "-persist_map_rw_separate" if args.mode == "sep" else
             "-no_persist_map_rw_separate", env.kind, env.work,
             "" if attempt == 1 else " (attempt %d of %d)" % (attempt, DR_DEFECT_ATTEMPTS)))
        try:
            SCENARIOS[args.scenario](env)
            ok = True
        except DRDefect as e:
            say("DR DEFECT: %s" % e)
            if attempt < DR_DEFECT_ATTEMPTS:
                say("work directory kept: %s; the scenario starts again from scratch" % env.work)
                continue
            say("FAIL: a known DR defect in each of %d attempts" % DR_DEFECT_ATTEMPTS)
        except Fail as e:
            say("FAIL: %s" % e)
        except Exception:  # a bug of this driver, or the unexpected: fail, say where
            say("FAIL: the driver stopped:\n" + traceback.format_exc())
        break
    total = time.monotonic() - t0
    say("%s: scenario %s, mode %s, %d runs under DR, %.1f s" %
        ("ok" if ok else "FAILED", args.scenario, args.mode, len(env.times), total))
    if ok and not args.keep and not os.environ.get("DRREAL_KEEP"):
        shutil.rmtree(env.work, ignore_errors=True)
    else:
        say("work directory kept: %s (client logs log*, DR's stderr stderr*, pcache/)" % env.work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
