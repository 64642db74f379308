"""CPython's own memoryview tests, run against memview.memoryview.

Runs the installed interpreter's test.test_memoryview and test.test_buffer
(Debian: libpython3.11-testsuite) with the module-global name `memoryview`
rebound to memview.memoryview inside those test modules, so every
`memoryview(...)` the tests make is a memview one.

    PYTHONPATH=build/python /usr/bin/python3 tests/python/run_cpython_tests.py

Every test must pass except those in EXCLUSIONS below, each a test that
checks CPython's object layout, needs an object that is a builtin
memoryview, or asserts a limitation that memview removes.  Excluded tests
still run and are reported; one that passes fails the run (the list stays
honest); and the rest of each (the test with only the statements about its
excluded case replaced) runs as well and must pass.  Skipped tests are
reported apart and are not passes; only the skips CPython's suites make with
the builtin too (ALLOWED_SKIPS) are accepted.  test_buffer draws random cases from the `random` module: the seed
comes from $MEMVIEW_TEST_SEED or the clock and is printed, so a failing run
can be repeated.  The last line is

    cpython-conformance: N passed, M failed

where M counts everything that makes the exit status non-zero.

Options: -v lists every test's outcome; --builtin runs the same suites with
the builtin memoryview (checks the harness and the exclusions' premises);
--suite NAME runs one suite.
"""

import argparse
import ast
import builtins
import collections
import faulthandler
import importlib
import inspect
import os
import random
import sys
import textwrap
import time
import traceback
import unittest

SUITES = ('test_memoryview', 'test_buffer')

# Allowed classes of exclusion (the list, nothing else):
LAYOUT = "checks CPython's object layout"
BUILTIN = 'needs an object that is a builtin memoryview'
LIMITATION = 'asserts a limitation that memview removes'

# An exclusion names one test; the whole test is then not counted.  So that
# an exclusion hides nothing but the limitation it is about, it also lists
# the statements of the test (or of a helper the test calls) that assert
# that limitation, each with its replacement (None: no statement); the runner
# compiles a copy of the test with only those statements changed and runs it
# as the exclusion's "rest", which must pass like any other test.
Exclusion = collections.namedtuple('Exclusion', 'cls why patches random',
                                   defaults=(False,))
# patches: ((function name, statement as in the source, replacement), ...);
# statements are matched ignoring whitespace; every one must be found.
# random: the test meets the excluded case only in some random draws, so it
# may pass (reported, not an error); otherwise an excluded test that passes
# fails the run.

# The builtin type, for replacements inside the test modules, where the
# name `memoryview` means memview.memoryview.
BUILTIN_MV = "__import__('builtins').memoryview"

# test_memoryview's writable views: two slices on a 1-D view.
_ND_SLICE_SET = (
    'slice assignment with two slices on a 1-D view raises NotImplementedError '
    'in CPython (multi-dimensional slice assignment); memview assigns N-D '
    'slices, so the cause it names is the count: TypeError "memoryview: '
    'invalid slice key (too many indices: ...)".')
_ND_SLICE_SET_PATCH = (
    ('test_setitem_writable', 'self.assertRaises(NotImplementedError, setitem, slices, b"a")',
     'self.assertRaises(TypeError, setitem, slices, b"a")'),)

# Test id (as unittest prints it, without the leading "test.") -> Exclusion.
# Each entry was checked against the test's source; a test that fails for
# any other reason is a bug to fix, not an exclusion.
EXCLUSIONS = {
    # -- test_memoryview ------------------------------------------------------
    'test_memoryview.ArrayMemoryviewTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),
    'test_memoryview.ArrayMemorySliceTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),
    'test_memoryview.ArrayMemorySliceSliceTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),
    'test_memoryview.BytesMemoryviewTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),
    'test_memoryview.BytesMemorySliceTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),
    'test_memoryview.BytesMemorySliceSliceTest.test_setitem_writable': Exclusion(
        LIMITATION, _ND_SLICE_SET, _ND_SLICE_SET_PATCH),

    # -- test_buffer ---------------------------------------------------------
    'test_buffer.TestBufferProtocol.test_memoryview_sizeof': Exclusion(
        LAYOUT,
        'sys.getsizeof(memoryview) must equal the size of CPython\'s '
        'PyMemoryViewObject plus 3 Py_ssize_t per dimension; memview\'s '
        'object has its own layout (its shape lives in libmemview).',
        ()),
    'test_buffer.TestBufferProtocol.test_memoryview_construction': Exclusion(
        BUILTIN,
        'verify() computes the expected .obj with isinstance(result, '
        'memoryview): for the builtin views made by '
        'ndarray.memoryview_from_buffer() that is False once the name means '
        'memview.memoryview, so it expects m.obj to be the builtin view '
        'itself, where memview (like CPython for its own views) reports '
        'that view\'s .obj.',
        (('verify',
          'ex = result.obj if isinstance(result, memoryview) else result',
          'ex = result.obj if isinstance(result, (memoryview, %s)) else result'
          % BUILTIN_MV),)),
    'test_buffer.TestBufferProtocol.test_ndarray_multidim': Exclusion(
        BUILTIN,
        'as test_memoryview_construction: verify() of the builtin view from '
        'ndarray.memoryview_from_buffer(), made when the random format '
        'drawn is one the builtin memoryview supports.',
        (('verify',
          'ex = result.obj if isinstance(result, memoryview) else result',
          'ex = result.obj if isinstance(result, (memoryview, %s)) else result'
          % BUILTIN_MV),),
        random=True),
    'test_buffer.TestBufferProtocol.test_memoryview_index': Exclusion(
        LIMITATION,
        'item access for a multi-value format (0-dim \'iii\') and m[()] / '
        'm[0] of a 2-D view raise NotImplementedError in CPython; memview '
        'returns the tuple / the sub-view.',
        (('test_memoryview_index',
          'self.assertRaises(NotImplementedError, m.__getitem__, ())',
          'self.assertEqual(m[()].tolist() if m.ndim else m[()], ex.tolist())'),
         ('test_memoryview_index',
          'self.assertRaises(NotImplementedError, m.__getitem__, 0)',
          'self.assertEqual(m[0].tolist(), ex.tolist()[0])'))),
    'test_buffer.TestBufferProtocol.test_memoryview_assign': Exclusion(
        LIMITATION,
        'item stores for formats \'xL\' and \'s\' and m[0] = ... on a '
        '2-D view raise NotImplementedError in CPython; memview stores '
        '(an int into \'xL\') or gives the ordinary TypeError of a wrong '
        'value (an int for \'s\', a list for a sub-view).',
        (('test_memoryview_assign',
          'self.assertRaises(NotImplementedError, m.__setitem__, 0, 1)',
          None),
         ('test_memoryview_assign',
          'self.assertRaises(NotImplementedError, m.__setitem__, 0, [2, 3])',
          'self.assertRaises(TypeError, m.__setitem__, 0, [2, 3])'))),
    'test_buffer.TestBufferProtocol.test_memoryview_slice': Exclusion(
        LIMITATION,
        'm[()] of a 1-D view raises NotImplementedError in CPython (no '
        'multi-dimensional keys); memview returns the whole view.  Two '
        'slices on a 1-D view raise NotImplementedError ("multi-dimensional '
        'slicing is not implemented"); memview slices N-D views, so the cause '
        'it names is the count: TypeError "memoryview: invalid slice key (too '
        'many indices: ...)".',
        (('test_memoryview_slice',
          'self.assertRaises(NotImplementedError, m.__getitem__, ())',
          'self.assertEqual(m[()], m)'),
         ('test_memoryview_slice',
          'self.assertRaises(NotImplementedError, m.__getitem__, '
          '(slice(0,2,1), slice(0,2,1)))',
          'self.assertRaises(TypeError, m.__getitem__, (slice(0,2,1), slice(0,2,1)))'),
         ('test_memoryview_slice',
          'self.assertRaises(NotImplementedError, m.__setitem__, '
          '(slice(0,2,1), slice(0,2,1)), bytearray([1,2]))',
          'self.assertRaises(TypeError, m.__setitem__, (slice(0,2,1), slice(0,2,1)), '
          'bytearray([1,2]))'))),
    'test_buffer.TestBufferProtocol.test_memoryview_cast_1D_ND': Exclusion(
        LIMITATION,
        'a cast CPython refuses as N-D -> N-D or between two non-byte '
        'formats (TypeError) is one memview makes; when it then fails, '
        'memview names the real cause, which for a shape with a zero extent '
        '(a 0-dim source cast to [0, size]) is CPython\'s ValueError '
        '"elements of shape must be integers > 0".',
        (('test_memoryview_cast_1D_ND',
          'self.assertRaises(TypeError, m.cast, tfmt, tshape)',
          'self.assertRaises((TypeError, ValueError), m.cast, tfmt, tshape)'),)),
    'test_buffer.TestBufferProtocol.test_memoryview_tolist': Exclusion(
        LIMITATION,
        'tolist() of formats \'lh\' and \'s\' raises NotImplementedError in '
        'CPython; memview gives tuples and bytes.',
        (('test_memoryview_tolist',
          'self.assertRaises(NotImplementedError, m.tolist)',
          'self.assertEqual(m.tolist(), ex.tolist())'),)),
    'test_buffer.TestBufferProtocol.test_memoryview_hash': Exclusion(
        LIMITATION,
        'hashing a read-only view of a non-byte format raises ValueError in '
        'CPython; memview hashes any read-only view.',
        (('test_memoryview_hash',
          'self.assertRaises(ValueError, m.__hash__)',
          'self.assertEqual(hash(m), hash(memoryview(nd)))'),)),
    'test_buffer.TestBufferProtocol.test_memoryview_cast_invalid': Exclusion(
        LIMITATION,
        'casts between two non-byte formats, N-D -> N-D casts and '
        'destination formats other than a native single character raise '
        'TypeError / ValueError in CPython; memview casts between any '
        'formats whose sizes divide.  Item access and tolist for format '
        '\'II\' raise NotImplementedError in CPython; memview gives tuples.',
        (('test_memoryview_cast_invalid',
          'self.assertRaises(TypeError, msrc.cast, dfmt, [32//dsize])', None),
         ('test_memoryview_cast_invalid',
          'self.assertRaises(ValueError, msrc.cast, dfmt, [32//dsize])', None),
         ('test_memoryview_cast_invalid',
          'self.assertRaises(TypeError, msrc.cast, shape=[2,2,size_h], format=\'d\')',
          'self.assertEqual(msrc.cast(shape=[2,2,size_h], format=\'d\').shape, '
          '(2, 2, size_h))'),
         ('test_memoryview_cast_invalid', 'self.assertRaises(ValueError, m.cast, "=B")', None),
         ('test_memoryview_cast_invalid', 'self.assertRaises(ValueError, m.cast, "!L")', None),
         ('test_memoryview_cast_invalid', 'self.assertRaises(ValueError, m.cast, ">l")', None),
         ('test_memoryview_cast_invalid', 'self.assertRaises(ValueError, m.cast, "BI")', None),
         ('test_memoryview_cast_invalid', 'self.assertRaises(ValueError, m.cast, "xBI")', None),
         ('test_memoryview_cast_invalid',
          'self.assertRaises(NotImplementedError, m.__getitem__, 0)',
          'self.assertEqual(m[0], (1, 2))'),
         ('test_memoryview_cast_invalid',
          'self.assertRaises(NotImplementedError, m.__setitem__, 0, 8)', None),
         ('test_memoryview_cast_invalid',
          'self.assertRaises(NotImplementedError, m.tolist)',
          'self.assertEqual(m.tolist(), [(1, 2), (3, 4)])'))),
    'test_buffer.TestBufferProtocol.test_memoryview_compare_special_cases': Exclusion(
        LIMITATION,
        'views of a ctypes big-endian structure (format \'T{>q:x:>q:y:}\', '
        'which the struct module cannot read) compare unequal even to '
        'themselves in CPython, and tolist() raises NotImplementedError; '
        'memview reads the format, so they compare by value and tolist() of '
        'the 0-dim view gives the record as a tuple.  Likewise an array(\'u\') '
        '(format \'w\', UCS-4 characters) is unequal to its own view in '
        'CPython, whose struct module has no \'w\'; memview reads it, so the '
        'rest checks the same with a format memview cannot read either '
        '(ctypes c_longdouble, \'<g\').',
        (('test_memoryview_compare_special_cases', "a = array.array('u', 'xyz')",
          "a = (__import__('ctypes').c_longdouble * 3)()"),
         ('test_memoryview_compare_special_cases', 'self.assertNotEqual(a, b)',
          'self.assertEqual(a, b)'),
         ('test_memoryview_compare_special_cases', 'self.assertNotEqual(a, point)',
          'self.assertEqual(a, point)'),
         ('test_memoryview_compare_special_cases', 'self.assertNotEqual(point, a)',
          'self.assertEqual(point, a)'),
         ('test_memoryview_compare_special_cases',
          'self.assertRaises(NotImplementedError, a.tolist)',
          'self.assertEqual(a.tolist(), (100, 200))'))),
    'test_buffer.TestBufferProtocol.test_ndarray_slice_invalid': Exclusion(
        LIMITATION,
        'a 2-D key on a 2-D view and slice assignment into a 2-D view raise '
        'NotImplementedError in CPython; memview does both, so a zero step '
        'and a rvalue of another structure give ValueError.',
        (('test_ndarray_slice_invalid',
          'self.assertRaises(NotImplementedError, mv.__getitem__, '
          '(slice(0,1,1), slice(0,1,0)))',
          'self.assertRaises(ValueError, mv.__getitem__, (slice(0,1,1), slice(0,1,0)))'),
         ('test_ndarray_slice_invalid',
          'self.assertRaises(NotImplementedError, ml.__setitem__, slice(0,1,1), mr[7:8])',
          'self.assertRaises(ValueError, ml.__setitem__, slice(0,1,1), mr[7:8])'))),
}

# 3.12+: classes with a __buffer__ method written in Python.  CPython
# requires __buffer__ to return a builtin memoryview ("__buffer__ returned
# non-memoryview object"); in these tests it returns memoryview(...), which
# here is memview.memoryview.  Their rest returns the builtin instead, and
# memview.memoryview is still the consumer under test.
_PEP688 = 'CPython requires a Python __buffer__ method to return a builtin memoryview; here it returns memoryview(...), i.e. memview.memoryview.'


def _builtin_return(function, *statements):
    return tuple((function, st, st.replace('memoryview(', BUILTIN_MV + '(', 1))
                 for st in statements)


if sys.version_info >= (3, 12):
    _P = 'test_buffer.TestPythonBufferProtocol.'
    EXCLUSIONS.update({
        _P + 'test_basic': Exclusion(BUILTIN, _PEP688, _builtin_return(
            'test_basic', 'return memoryview(b"hello")')),
        _P + 'test_release_buffer': Exclusion(BUILTIN, _PEP688, _builtin_return(
            'test_release_buffer', 'return memoryview(self.ba)')),
        _P + 'test_same_buffer_returned': Exclusion(BUILTIN, _PEP688, _builtin_return(
            'test_same_buffer_returned', 'self.created_mv = memoryview(self.ba)')),
        _P + 'test_buffer_flags': Exclusion(
            BUILTIN, _PEP688, _builtin_return(
                'test_buffer_flags', 'return memoryview(self._data)',
                'return memoryview(bytes(self._data))')),
        _P + 'test_c_buffer': Exclusion(
            BUILTIN, "_testcapi.testBuf().__buffer__(0) is CPython's own slot "
            'wrapper, which returns a builtin memoryview; the test checks that '
            'it is an instance of `memoryview`.',
            (('test_c_buffer', 'self.assertIsInstance(mv, memoryview)',
              'self.assertIsInstance(mv, %s)' % BUILTIN_MV),)),
        _P + 'test_inherit_but_return_something_else': Exclusion(
            BUILTIN, _PEP688, _builtin_return(
                'test_inherit_but_return_something_else', 'return memoryview(b"hello")')),
        _P + 'test_release_saves_reference_no_subclassing': Exclusion(
            BUILTIN, _PEP688, _builtin_return(
                'test_release_saves_reference_no_subclassing', 'return memoryview(ba)')),
        _P + 'test_multiple_inheritance_buffer_last': Exclusion(
            BUILTIN, _PEP688, _builtin_return(
                'test_multiple_inheritance_buffer_last', 'return memoryview(b"hello A")')),
        _P + 'test_release_buffer_with_exception_set': Exclusion(
            BUILTIN, _PEP688, _builtin_return(
                'test_release_buffer_with_exception_set', 'return memoryview(bytes(8))')),
    })

# Skips CPython's suites make on their own (with the builtin memoryview
# too), matched on the start of the skip message.
ALLOWED_SKIPS = (
    'XXX test should be adapted for non-byte buffers',
    'XXX NotImplementedError: tolist() only supports byte views',
    'no read-only type to test',
    'no writable type to test',
)


class Recorder(unittest.TestResult):
    """Keeps one outcome per test: pass, fail, error, skip, xfail, xpass."""

    def __init__(self, verbose, tag=''):
        super().__init__()
        self.verbose = verbose
        self.tag = tag
        self.outcomes = {}      # id -> (outcome, detail)
        self.order = []
        self.random_states = {}
        self._t0 = time.monotonic()

    def _set(self, test, outcome, detail=''):
        tid = short_id(test)
        prev = self.outcomes.get(tid)
        # A failing subtest fails the whole test; the test's own success
        # afterwards must not hide it.
        if prev is not None and prev[0] in ('fail', 'error') and outcome == 'pass':
            return
        if prev is None:
            self.order.append(tid)
        self.outcomes[tid] = (outcome, detail)

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()
        # So that an excluded test's rest can replay the same random cases.
        self.random_states[short_id(test)] = random.getstate()

    def addSuccess(self, test):
        self._set(test, 'pass')

    def addFailure(self, test, err):
        self._set(test, 'fail', self._exc_info_to_string(err, test))

    def addError(self, test, err):
        # setUpClass / setUpModule errors arrive with a placeholder test whose
        # id names the fixture; they are recorded (and fail the run) as such.
        self._set(test, 'error', self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._set(test, 'skip', reason)

    def addExpectedFailure(self, test, err):
        self._set(test, 'xfail', self._exc_info_to_string(err, test))

    def addUnexpectedSuccess(self, test):
        self._set(test, 'xpass')

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = 'fail' if issubclass(err[0], test.failureException) else 'error'
            self._set(test, kind, '%s\n%s' % (subtest.id(),
                                              self._exc_info_to_string(err, test)))

    def stopTest(self, test):
        super().stopTest(test)
        if self.verbose:
            tid = short_id(test)
            outcome = self.outcomes.get(tid, ('?',))[0]
            print('  %-5s %s%s (%.2fs)' % (outcome, tid, self.tag,
                                           time.monotonic() - self._t0), flush=True)


def short_id(test):
    tid = test.id()
    return tid[len('test.'):] if tid.startswith('test.') else tid


def last_line(detail):
    lines = [l for l in detail.strip().splitlines() if l.strip()]
    return lines[-1].strip() if lines else ''


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def squash(text):
    return ''.join(text.split())


class _Patcher(ast.NodeTransformer):
    """Replaces the statements whose source (whitespace ignored) is one of
    `patches` by the replacement's statements (or by `pass`)."""

    def __init__(self, src, patches):
        self.src = src
        self.patches = {squash(old): new for old, new in patches}
        self.used = set()

    def visit(self, node):
        if isinstance(node, ast.stmt):
            key = squash(ast.get_source_segment(self.src, node) or '')
            if key in self.patches:
                self.used.add(key)
                new = self.patches[key]
                body = ast.parse(new).body if new else [ast.Pass()]
                for n in body:
                    ast.copy_location(n, node)
                    ast.fix_missing_locations(n)
                    for sub in ast.walk(n):
                        ast.copy_location(sub, node)
                return body
        return super().visit(node)


def patched_function(cls, name, patches, module):
    """`cls.name` recompiled with `patches` applied, in `module`'s globals."""
    fn = getattr(cls, name)
    fn = getattr(fn, '__func__', fn)
    lines, first = inspect.getsourcelines(fn)
    src = textwrap.dedent(''.join(lines))
    tree = ast.parse(src)
    patcher = _Patcher(src, patches)
    tree = ast.fix_missing_locations(patcher.visit(tree))
    missing = [old for old, _ in patches if squash(old) not in patcher.used]
    if missing:
        raise LookupError('%s.%s has no statement %r' % (cls.__name__, name, missing[0]))
    ast.increment_lineno(tree, first - 1)
    namespace = {}
    exec(compile(tree, inspect.getsourcefile(fn), 'exec'), module.__dict__, namespace)
    return namespace[name]


def rest_of(test, exclusion, module):
    """The excluded `test` with its limitation statements patched out."""
    cls = type(test)
    by_function = collections.defaultdict(list)
    for function, old, new in exclusion.patches:
        by_function[function].append((old, new))
    members = {name: patched_function(cls, name, patches, module)
               for name, patches in by_function.items()}
    members['__module__'] = cls.__module__
    members['__qualname__'] = cls.__qualname__
    return type(cls.__name__, (cls,), members)(test._testMethodName)


def run_suite(name, view_type, seed, verbose, use_exclusions):
    """Run one suite, then the rest of each of its excluded tests."""
    random.seed(seed)
    module = importlib.import_module('test.' + name)
    # The tests look `memoryview` up in their module's globals at call time.
    module.memoryview = view_type
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    tests = {short_id(t): t for t in flatten(suite)}
    result = Recorder(verbose)
    t0 = time.monotonic()
    suite.run(result)

    rests = Recorder(verbose, tag=' [rest]')
    for tid, exclusion in sorted(EXCLUSIONS.items()) if use_exclusions else ():
        if tid not in tests or not exclusion.patches:
            continue
        try:
            case = rest_of(tests[tid], exclusion, module)
        except Exception as e:
            rests.order.append(tid)
            rests.outcomes[tid] = ('error', 'cannot patch: %s: %s' % (type(e).__name__, e))
            continue
        random.setstate(result.random_states[tid])
        case.run(rests)
    return result, rests, set(tests), time.monotonic() - t0


def report(name, result, rests, seconds, use_exclusions):
    """Print one suite's outcomes; return (passed, failed)."""
    counts = dict.fromkeys(('pass', 'fail', 'error', 'skip', 'xfail', 'xpass'), 0)
    excluded = []
    problems = []
    for tid in result.order:
        outcome, detail = result.outcomes[tid]
        if use_exclusions and tid in EXCLUSIONS:
            excluded.append((tid, outcome, detail))
            continue
        counts[outcome] += 1
        if outcome in ('fail', 'error'):
            problems.append('%s %s\n%s' % (outcome.upper(), tid, detail.rstrip()))
        elif outcome == 'xpass':
            problems.append('UNEXPECTED SUCCESS %s' % tid)
        elif outcome == 'skip' and not detail.startswith(ALLOWED_SKIPS):
            problems.append("SKIPPED, and not one of CPython's own skips: %s: %s"
                            % (tid, detail))
    for tid in rests.order:
        outcome, detail = rests.outcomes[tid]
        if outcome not in ('pass', 'xfail'):
            problems.append('%s %s [rest: the test without its limitation '
                            'statements]\n%s' % (outcome.upper(), tid, detail.rstrip()))
    for text in problems:
        print(text, flush=True)

    skips = [(tid, result.outcomes[tid][1]) for tid in result.order
             if result.outcomes[tid][0] == 'skip'
             and not (use_exclusions and tid in EXCLUSIONS)]
    if skips:
        print('%s: %d skipped (not counted as passed):' % (name, len(skips)))
        for tid, reason in skips:
            print('  SKIP %s: %s' % (tid, reason))

    if excluded:
        print('%s: %d excluded (run and reported, not counted):' % (name, len(excluded)))
    for tid, outcome, detail in excluded:
        exclusion = EXCLUSIONS[tid]
        if outcome in ('fail', 'error'):
            state = 'fails as expected (%s)' % last_line(detail)
        elif outcome == 'pass' and exclusion.random:
            state = 'passes: this seed drew none of the cases it is excluded for'
        else:
            state = 'UNEXPECTEDLY %s: remove it from EXCLUSIONS' % outcome.upper()
            problems.append(tid)
        if tid in rests.outcomes:
            state += '; rest %s' % ('passes' if rests.outcomes[tid][0] in ('pass', 'xfail')
                                    else 'FAILS')
        print('  EXCLUDED %s [%s]: %s' % (tid, exclusion.cls, state))

    passed = counts['pass'] + counts['xfail']
    print('%s: %d run in %.1fs: %d passed, %d failed, %d errors, %d skipped, '
          '%d excluded (%d with their rest run: %d passed)'
          % (name, len(result.order), seconds, passed, counts['fail'],
             counts['error'], counts['skip'], len(excluded), len(rests.order),
             sum(1 for t in rests.order if rests.outcomes[t][0] in ('pass', 'xfail'))),
          flush=True)
    return passed, len(problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-v', '--verbose', action='store_true', help='list every test')
    ap.add_argument('--builtin', action='store_true',
                    help='run with the builtin memoryview and no exclusions')
    ap.add_argument('--suite', action='append', choices=SUITES)
    args = ap.parse_args()

    faulthandler.enable()
    if args.builtin:
        view_type = builtins.memoryview
        where = 'the builtin'
    else:
        import memview
        view_type = memview.memoryview
        if view_type is builtins.memoryview:
            sys.exit('memview.memoryview is the builtin memoryview')
        where = 'memview.memoryview from ' + memview.__file__

    env_seed = os.environ.get('MEMVIEW_TEST_SEED', '').strip()
    seed = int(env_seed) if env_seed else time.time_ns() % (2 ** 32)
    print('cpython-conformance: Python %s (%s), memoryview = %s'
          % (sys.version.split()[0], sys.executable, where))
    print('cpython-conformance: seed %d (repeat with MEMVIEW_TEST_SEED=%d)' % (seed, seed),
          flush=True)

    suites = args.suite or SUITES
    total_passed = total_failed = 0
    for name in suites:
        print('== %s' % name, flush=True)
        try:
            result, rests, ids, seconds = run_suite(name, view_type, seed, args.verbose,
                                                    not args.builtin)
        except Exception:
            traceback.print_exc()
            print('%s: could not be run' % name)
            total_failed += 1
            continue
        passed, failed = report(name, result, rests, seconds, not args.builtin)
        if not args.builtin:
            # An entry that names no test protects nothing: keep the list exact.
            for tid in sorted(EXCLUSIONS):
                if tid.startswith(name + '.') and tid not in ids:
                    print('STALE EXCLUSION %s: no such test here' % tid)
                    failed += 1
        total_passed += passed
        total_failed += failed

    print('cpython-conformance: %d passed, %d failed' % (total_passed, total_failed))
    return 1 if total_failed else 0


if __name__ == '__main__':
    sys.exit(main())
