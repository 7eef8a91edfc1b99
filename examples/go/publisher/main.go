// A survey job published on the llmxmapreduce bus from Go, with the NATS Go client and the
// standard library only, following docs/publishers.md and the job spec of `llmxmr schema`:
//
//  1. connect as a publisher (NATS_USER/NATS_PASS from `llmxmr auth init`'s <name>.env) with
//     the inbox prefix _INBOX.<user> its permissions allow;
//  2. upload the input record to <p>.uploads.<user>.<id> in parts (JetStream publish);
//  3. listen on <p>.api.<user>.events.<jobId>, then publish the job spec (msgpack) to
//     <p>.jobs.submit.<user> with the job id as the message id;
//  4. ask a coordinator for the job's status (<p>.api.<user>.status, JSON) until it ends;
//  5. fetch the result in parts (<p>.api.<user>.result, JSON, base64 data).
//
// Build without downloads (Debian's golang-go and golang-github-nats-io-go-nats-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o publisher ./examples/go/publisher
//	(set -a; . creds/alice.env; ./publisher -input record.json -out result.json)
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

const partBytes = 512 * 1024

func main() {
	input := flag.String("input", "", "the survey's input record: a JSON object with a title and papers")
	jobID := flag.String("job", "", "job id (default: go-<time>-<random>)")
	extra := flag.String("params", "", "job params as a JSON object, merged over the defaults (blocks 0, groupSize 3)")
	engine := flag.String("engine", "extractive", "engine: extractive (offline) or openai (the cluster's models)")
	out := flag.String("out", "", "write the result JSON to this file (default: print the survey's markdown)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up waiting after this long")
	flag.Parse()
	if err := run(*input, *jobID, *extra, *engine, *out, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "publisher: %v\n", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// token is a user name as one subject token (the server's permissions use the same form).
func token(user string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(user, "_")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func run(input, jobID, extra, engine, out string, timeout time.Duration) error {
	user := os.Getenv("NATS_USER")
	if user == "" || input == "" {
		return errors.New("set NATS_USER and NATS_PASS (a publisher's credential from `llmxmr auth init`) and give -input")
	}
	prefix, me := env("MR_PREFIX", "mr"), token(user)
	if jobID == "" {
		jobID = fmt.Sprintf("go-%d-%s", time.Now().Unix(), randomHex(3))
	}
	record, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	var probe map[string]interface{}
	if err := json.Unmarshal(record, &probe); err != nil {
		return fmt.Errorf("%s: not a JSON object (%v)", input, err)
	}
	params := map[string]interface{}{"blocks": 0, "groupSize": 3}
	if extra != "" {
		var more map[string]interface{}
		if err := json.Unmarshal([]byte(extra), &more); err != nil {
			return fmt.Errorf("-params: not a JSON object (%v)", err)
		}
		for k, v := range more {
			params[k] = v
		}
	}

	nc, err := nats.Connect(env("NATS_URL", "nats://127.0.0.1:4222"),
		nats.UserInfo(user, os.Getenv("NATS_PASS")),
		nats.CustomInboxPrefix("_INBOX."+me),
		nats.Name("llmxmr-go-publisher"),
		nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("cannot connect to NATS: %v", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}

	// 1. The input record, in parts of at most 512 KiB, each with its place in headers.
	upload := randomHex(12)
	parts := (len(record) + partBytes - 1) / partBytes
	if parts == 0 {
		parts = 1
	}
	for i := 0; i < parts; i++ {
		end := (i + 1) * partBytes
		if end > len(record) {
			end = len(record)
		}
		m := nats.NewMsg(fmt.Sprintf("%s.uploads.%s.%s", prefix, me, upload))
		m.Header.Set("Mr-Parts", strconv.Itoa(parts))
		m.Header.Set("Mr-Part", strconv.Itoa(i))
		m.Data = record[i*partBytes : end]
		if _, err := js.PublishMsg(m); err != nil {
			return fmt.Errorf("upload part %d: %v", i, err)
		}
	}
	params["inputKey"] = "upload:" + upload

	// 2. Events first, so that none is missed; then the job itself.
	sub, err := nc.Subscribe(fmt.Sprintf("%s.api.%s.events.%s", prefix, me, jobID), printEvent)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	spec := map[string]interface{}{
		"v": 1, "jobId": jobID, "pipeline": "v2", "engine": engine,
		"submittedAt": time.Now().UTC().Format(time.RFC3339Nano), "params": params,
	}
	data, err := encodeMsgpack(spec)
	if err != nil {
		return err
	}
	if _, err := js.Publish(fmt.Sprintf("%s.jobs.submit.%s", prefix, me), data, nats.MsgId(jobID)); err != nil {
		return fmt.Errorf("the job could not be submitted: %v", err)
	}
	fmt.Fprintf(os.Stderr, "job %s submitted as %s\n", jobID, user)

	// 3. Status until the job ends.
	deadline := time.Now().Add(timeout)
	var status map[string]interface{}
	for {
		r, err := ask(nc, prefix, me, "status", map[string]interface{}{"jobId": jobID})
		if err != nil && !errors.Is(err, errNotFound) {
			return err
		}
		if err == nil {
			status, _ = r["status"].(map[string]interface{})
			if s, _ := status["state"].(string); s == "succeeded" || s == "failed" || s == "cancelled" {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %s did not end within %s", jobID, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if status["state"] != "succeeded" {
		return fmt.Errorf("job %s %v: %v", jobID, status["state"], status["error"])
	}

	// 4. The result, part by part.
	var result []byte
	for part, total := 0, 1; part < total; part++ {
		r, err := ask(nc, prefix, me, "result", map[string]interface{}{"jobId": jobID, "part": part})
		if err != nil {
			return err
		}
		n, _ := r["parts"].(float64)
		total = int(n)
		chunk, err := base64.StdEncoding.DecodeString(fmt.Sprint(r["data"]))
		if err != nil {
			return fmt.Errorf("result part %d: %v", part, err)
		}
		result = append(result, chunk...)
	}
	var doc map[string]interface{}
	if err := json.Unmarshal(result, &doc); err != nil {
		return fmt.Errorf("the result is not JSON: %v", err)
	}
	fmt.Fprintf(os.Stderr, "job %s succeeded: %d bytes of result\n", jobID, len(result))
	if out != "" {
		return os.WriteFile(out, result, 0o644)
	}
	fmt.Println(doc["markdown"])
	return nil
}

var errNotFound = errors.New("no such job yet")

// ask sends one job API request (JSON) and returns the reply's fields when ok is true.
func ask(nc *nats.Conn, prefix, me, verb string, body map[string]interface{}) (map[string]interface{}, error) {
	req, _ := json.Marshal(body)
	msg, err := nc.Request(fmt.Sprintf("%s.api.%s.%s", prefix, me, verb), req, 15*time.Second)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, errors.New("no coordinator answers on this bus: start one")
	}
	if err != nil {
		return nil, fmt.Errorf("%s request: %v", verb, err)
	}
	var r map[string]interface{}
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return nil, fmt.Errorf("%s: the coordinator's reply is not JSON", verb)
	}
	if r["ok"] != true {
		if r["code"] == "not-found" && verb == "status" {
			return nil, errNotFound
		}
		return nil, fmt.Errorf("%v (%v)", r["error"], r["code"])
	}
	return r, nil
}

// printEvent shows one job event (msgpack: type, stage, done, total, message).
func printEvent(m *nats.Msg) {
	v, err := decodeMsgpack(m.Data)
	e, ok := v.(map[string]interface{})
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "  (an event that is not a msgpack map: %v)\n", err)
		return
	}
	line := []string{fmt.Sprint(e["type"])}
	if s, ok := e["stage"].(string); ok {
		line = append(line, s)
	}
	if d, ok := e["done"].(int64); ok {
		line = append(line, fmt.Sprintf("%d/%v", d, e["total"]))
	}
	if s, ok := e["message"].(string); ok {
		line = append(line, s)
	}
	fmt.Fprintf(os.Stderr, "  event %s\n", strings.Join(line, " "))
}
