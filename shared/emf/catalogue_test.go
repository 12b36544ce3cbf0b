package emf

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// nonMetricConsts are the string constants of this package that are not
// metric names.
func nonMetricConst(name string) bool {
	return name == "Namespace" || name == "OtherLogGroups" ||
		strings.HasPrefix(name, "Dimension") || strings.HasPrefix(name, "Function")
}

// metricConsts parses this package's source and returns every untyped string
// constant that names a metric, by identifier.
func metricConsts(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if vs.Type != nil { // typed: units
					continue
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING || !n.IsExported() || nonMetricConst(n.Name) {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					out[n.Name] = v
				}
			}
		}
	}
	return out
}

var knownUnits = []Unit{Count, Bytes, Milliseconds, Seconds}

var knownFunctions = []string{FunctionTransform, FunctionIndexer, FunctionLake, FunctionAlarm, FunctionOpsgenie}

// TestCatalogueComplete: every metric constant has one well-formed entry, so
// an engineer who adds a constant learns here what else it needs.
func TestCatalogueComplete(t *testing.T) {
	t.Parallel()
	consts := metricConsts(t)
	if len(consts) < 30 {
		t.Fatalf("found only %d metric constants; the source scan is broken", len(consts))
	}
	names := map[string]bool{}
	for _, v := range consts {
		names[v] = true
	}
	for _, id := range slices.Sorted(mapKeys(consts)) {
		if _, ok := Lookup(consts[id]); !ok {
			t.Errorf("emf.%s = %q has no entry in emf.Catalogue (catalogue.go): add {Name, Unit, Dimensions, Functions, Doc}", id, consts[id])
		}
	}
	seen := map[string]bool{}
	for _, m := range Catalogue {
		if seen[m.Name] {
			t.Errorf("%s: listed twice", m.Name)
		}
		seen[m.Name] = true
		if !names[m.Name] {
			t.Errorf("%s: in the catalogue but no constant of this package names it", m.Name)
		}
		if !slices.Contains(knownUnits, m.Unit) {
			t.Errorf("%s: unit %q is not one of %v", m.Name, m.Unit, knownUnits)
		}
		if len(m.Functions) == 0 {
			t.Errorf("%s: no function emits it", m.Name)
		}
		for _, f := range m.Functions {
			if !slices.Contains(knownFunctions, f) {
				t.Errorf("%s: unknown function %q", m.Name, f)
			}
		}
		if len(m.Dimensions) == 0 {
			t.Errorf("%s: no dimension set", m.Name)
		}
		for _, set := range m.Dimensions {
			if len(set) == 0 || set[0] != DimensionFunction {
				t.Errorf("%s: dimension set %v does not start with %s", m.Name, set, DimensionFunction)
			}
		}
		if m.Doc == "" {
			t.Errorf("%s: no Doc", m.Name)
		}
	}
}

func TestCatalogueLookup(t *testing.T) {
	t.Parallel()
	m, ok := Lookup(RecordsFailed)
	if !ok || m.Unit != Count || !m.EmittedBy("transform") || m.EmittedBy("indexer") {
		t.Errorf("Lookup(RecordsFailed) = %+v, %v", m, ok)
	}
	if !m.HasDimensions([]string{"Function"}) || m.HasDimensions([]string{"Function", "LogGroup"}) || m.HasDimensions(nil) {
		t.Error("RecordsFailed dimensions: want exactly [Function]")
	}
	lg, _ := Lookup(LogGroupEvents)
	if !lg.HasDimensions([]string{"LogGroup", "Function"}) || lg.HasDimensions([]string{"Function"}) {
		t.Error("LogGroupEvents dimensions: want exactly {Function, LogGroup} in any order")
	}
	if _, ok := Lookup("NoSuchMetric"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

// emission is what one Go package does with this package.
type emission struct {
	functions map[string]bool // literal names passed to New / NewLogGroupCounter
	unknown   bool            // New called with a non-literal: the function is decided elsewhere
	metrics   map[string]bool // metric constants used, by value
}

// scanEmissions parses every non-test Go file under the repository's shared/,
// functions/ and cmd/ folders (this package excluded) and reports, per
// package folder, which functions it names and which metric constants it uses.
func scanEmissions(t *testing.T, root string, consts map[string]string) map[string]*emission {
	t.Helper()
	out := map[string]*emission{}
	fset := token.NewFileSet()
	for _, top := range []string{"shared", "functions", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			dir, _ := filepath.Rel(root, filepath.Dir(path))
			if dir == filepath.Join("shared", "emf") {
				return nil
			}
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Logf("skip %s: %v (being written?)", path, err)
				return nil
			}
			alias := ""
			for _, imp := range file.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/shared/emf") {
					alias = "emf"
					if imp.Name != nil {
						alias = imp.Name.Name
					}
				}
			}
			if alias == "" {
				return nil
			}
			e := out[dir]
			if e == nil {
				e = &emission{functions: map[string]bool{}, metrics: map[string]bool{}}
				out[dir] = e
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					sel, ok := x.Fun.(*ast.SelectorExpr)
					if !ok || !isIdent(sel.X, alias) || len(x.Args) == 0 {
						return true
					}
					if sel.Sel.Name != "New" && sel.Sel.Name != "NewLogGroupCounter" {
						return true
					}
					if lit, ok := x.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						fn, _ := strconv.Unquote(lit.Value)
						e.functions[fn] = true
					} else if sel, ok := x.Args[0].(*ast.SelectorExpr); ok && isIdent(sel.X, alias) && strings.HasPrefix(sel.Sel.Name, "Function") {
						e.functions[strings.ToLower(strings.TrimPrefix(sel.Sel.Name, "Function"))] = true
					} else {
						e.unknown = true
					}
					if sel.Sel.Name == "NewLogGroupCounter" {
						e.metrics[LogGroupEvents] = true
					}
				case *ast.SelectorExpr:
					if v, ok := consts[x.Sel.Name]; ok && isIdent(x.X, alias) {
						e.metrics[v] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestCatalogueMatchesCode: the code emits nothing the catalogue does not
// list (with the function that emits it), and a function whose code exists
// emits everything the catalogue says it does, so an alarm or widget built
// from the catalogue never watches a metric nobody writes.
func TestCatalogueMatchesCode(t *testing.T) {
	t.Parallel()
	consts := metricConsts(t)
	pkgs := scanEmissions(t, filepath.Join("..", ".."), consts)
	if len(pkgs) == 0 {
		t.Fatal("no package uses shared/emf; the source scan is broken")
	}
	problems := catalogueProblems(Catalogue, pkgs)
	for _, p := range problems.errors {
		t.Error(p)
	}
	for _, p := range problems.pending {
		t.Log("not checked yet:", p)
	}
}

type problemList struct{ errors, pending []string }

func catalogueProblems(cat []Metric, pkgs map[string]*emission) problemList {
	lookup := func(name string) (Metric, bool) {
		i := slices.IndexFunc(cat, func(m Metric) bool { return m.Name == name })
		if i < 0 {
			return Metric{}, false
		}
		return cat[i], true
	}
	var out problemList
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	present := map[string]bool{} // functions whose code names them
	for _, d := range dirs {
		e := pkgs[d]
		for fn := range e.functions {
			present[fn] = true
		}
		for _, name := range slices.Sorted(mapKeys(e.metrics)) {
			m, ok := lookup(name)
			if !ok {
				out.errors = append(out.errors, d+": emits "+name+", which emf.Catalogue does not list")
				continue
			}
			if e.unknown {
				continue
			}
			for _, fn := range slices.Sorted(mapKeys(e.functions)) {
				if !m.EmittedBy(fn) {
					out.errors = append(out.errors, d+": emits "+name+" as function "+strconv.Quote(fn)+", but emf.Catalogue lists it for "+strings.Join(m.Functions, ", ")+" only")
				}
			}
		}
	}
	for _, m := range cat {
		for _, fn := range m.Functions {
			emitted := false
			for _, d := range dirs {
				e := pkgs[d]
				if e.metrics[m.Name] && (e.functions[fn] || e.unknown) {
					emitted = true
				}
			}
			switch {
			case emitted && m.Pending != "":
				out.errors = append(out.errors, "emf.Catalogue marks "+m.Name+" Pending, but "+fn+" emits it now: remove the Pending note")
			case emitted:
			case m.Pending != "":
				out.pending = append(out.pending, m.Name+" ("+fn+"): "+m.Pending)
			case !present[fn]:
				out.pending = append(out.pending, m.Name+" ("+fn+": no code calls emf.New(\""+fn+"\") yet)")
			case m.Name == LogGroupEvents:
				out.pending = append(out.pending, m.Name+" ("+fn+": emf.NewLogGroupCounter is not wired yet)")
			default:
				out.errors = append(out.errors, "emf.Catalogue says "+fn+" emits "+m.Name+" (the template's alarms and dashboard rely on it), but no package calling emf.New(\""+fn+"\") uses emf."+m.Name)
			}
		}
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCatalogueProblems proves the code check fails when it should.
func TestCatalogueProblems(t *testing.T) {
	t.Parallel()
	set := func(s ...string) map[string]bool {
		m := map[string]bool{}
		for _, v := range s {
			m[v] = true
		}
		return m
	}
	pkgs := map[string]*emission{
		"shared/transform": {functions: set("transform"), metrics: set(RecordsIn, EventsIndexed, "Bogus")},
		"shared/alerting":  {unknown: true, metrics: set(AlertEventsIn)},
	}
	// The real catalogue, with one entry marked Pending as a function being written would be.
	cat := slices.Clone(Catalogue)
	for i := range cat {
		if cat[i].Name == SinkRetries {
			cat[i].Pending = "the sinks do not report retries yet"
		}
	}
	got := catalogueProblems(cat, pkgs)
	wantErr := []string{
		"shared/transform: emits Bogus, which emf.Catalogue does not list",
		`shared/transform: emits EventsIndexed as function "transform", but emf.Catalogue lists it for indexer only`,
		`emf.Catalogue says transform emits RecordsOk (the template's alarms and dashboard rely on it), but no package calling emf.New("transform") uses emf.RecordsOk`,
	}
	for _, w := range wantErr {
		if !slices.Contains(got.errors, w) {
			t.Errorf("missing problem %q in\n%q", w, got.errors)
		}
	}
	for _, e := range got.errors {
		if strings.Contains(e, "AlertEventsIn") || strings.Contains(e, "emits LakeLagSeconds") {
			t.Errorf("unexpected problem %q", e)
		}
	}
	if !slices.Contains(got.pending, `LakeRows (lake: no code calls emf.New("lake") yet)`) {
		t.Errorf("pending %q lacks LakeRows", got.pending)
	}
	if !slices.ContainsFunc(got.pending, func(p string) bool { return strings.HasPrefix(p, "SinkRetries (alarm): ") }) {
		t.Errorf("pending %q lacks the Pending note of SinkRetries", got.pending)
	}
	// A Pending metric that is emitted after all must lose its note.
	pkgs["shared/alarm"] = &emission{functions: set("alarm"), metrics: set(SinkRetries)}
	got = catalogueProblems(cat, pkgs)
	if w := "emf.Catalogue marks SinkRetries Pending, but alarm emits it now: remove the Pending note"; !slices.Contains(got.errors, w) {
		t.Errorf("missing problem %q in\n%q", w, got.errors)
	}
}

// TestCatalogueDocumented: docs/operations.md has a row for every metric, with its unit.
func TestCatalogueDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Catalogue {
		if row := "| `" + m.Name + "` | " + string(m.Unit) + " |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/operations.md has no catalogue row starting %q", row)
		}
	}
}
