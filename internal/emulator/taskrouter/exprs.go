package taskrouter

import (
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter/expr"
)

// Expression environments. The expr package resolves keys against a map; what
// that map holds decides what an expression may name:
//
//   - workflow filters see the task attributes at the top level and under
//     "task" (`type == "support"` and `task.type == "support"` both work);
//   - queue TargetWorkers expressions see the worker attributes at the top
//     level and under "worker" (`routing.skills HAS "support"`);
//   - target expressions and EvaluateWorkerAttributes see "worker" (its
//     attributes plus "sid" and "friendly_name"), "task" (the task's
//     attributes) and, as Twilio allows, bare worker attributes at the top
//     level (`skills HAS task.skill`);
//   - known_worker_sid / known_worker_friendly_name are values over the task
//     env of filters.

func taskEnv(attrs map[string]any) map[string]any {
	env := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		env[k] = v
	}
	env["task"] = attrs
	return env
}

func workerView(w *Worker) map[string]any {
	m := make(map[string]any, len(w.Attributes)+2)
	for k, v := range w.Attributes {
		m[k] = v
	}
	m["sid"] = w.Sid
	m["friendly_name"] = w.FriendlyName
	return m
}

func workerEnv(w *Worker) map[string]any {
	env := make(map[string]any, len(w.Attributes)+1)
	for k, v := range w.Attributes {
		env[k] = v
	}
	env["worker"] = workerView(w)
	return env
}

func targetEnv(w *Worker, t *Task) map[string]any {
	env := workerEnv(w)
	if t != nil {
		env["task"] = t.Attributes
	}
	return env
}

// parseExpr compiles an expression, mapping a syntax error to Twilio's 400
// naming the parameter. An empty expression means "everything" (TaskRouter
// treats a missing TargetWorkers or filter expression as 1==1).
func parseExpr(param, src string) (*expr.Expr, *core.Error) {
	if strings.TrimSpace(src) == "" {
		src = "1==1"
	}
	e, err := expr.Parse(src)
	if err != nil {
		return nil, core.BadParam(param, "invalid expression: "+err.Error())
	}
	return e, nil
}

// match evaluates e; an evaluation error (a constant used as a condition)
// counts as no match, never as a failure of the request.
func match(e *expr.Expr, env map[string]any) bool {
	if e == nil {
		return true
	}
	ok, err := e.Match(env)
	return err == nil && ok
}
