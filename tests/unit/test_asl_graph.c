/*
 * test_asl_graph.c -- unit tests of baton_asl_graph_mermaid (asl.h,
 * orchestrator/asl/graph.c): node shapes by state type, labelled edges
 * (Choice rules in short form, Default, Catch, Retry loops), Parallel
 * branches and Map processors as subgraphs, start/end nodes, the
 * highlighted state, escaping.  Standalone program, "N passed, N failed".
 */
#include "test_asl_harness.h"

#define CHECK_HAS(text, want)                                                  \
    CHECK((text) && strstr((text), (want)), "missing line %s in:\n%s", (want), \
          (text) ? (text) : "(null)")

static char *graph(const baton_asl_def_t *def, const char *hl) {
    char *out = NULL;
    CHECK(baton_asl_graph_mermaid(def, hl, &out) == BATON_OK, "graph");
    return out;
}

static const char flow[] =
    "{\"StartAt\": \"Fetch\", \"States\": {"
    "\"Fetch\": {\"Type\": \"Task\", \"Resource\": \"baton:activity:llm/fetch\","
    " \"Retry\": [{\"ErrorEquals\": [\"States.Timeout\"], \"MaxAttempts\": 2}],"
    " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"Broken\"}],"
    " \"Next\": \"Route\"},"
    "\"Route\": {\"Type\": \"Choice\", \"Choices\": ["
    " {\"Variable\": \"$.n\", \"NumericLessThan\": 3, \"Next\": \"Fetch\"},"
    " {\"And\": [{\"Variable\": \"$.s\", \"StringEquals\": \"a\\\"b\"},"
    "  {\"Variable\": \"$.x\", \"IsPresent\": false}], \"Next\": \"Fan\"},"
    " {\"Variable\": \"$.t\", \"StringMatches\": \"log-*\", \"Next\": \"Each\"}],"
    " \"Default\": \"Done\"},"
    "\"Fan\": {\"Type\": \"Parallel\", \"Branches\": ["
    " {\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\","
    "  \"Resource\": \"baton:signal:ok\", \"End\": true}}},"
    " {\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Wait\","
    "  \"Seconds\": 10, \"End\": true}}}], \"Next\": \"Done\"},"
    "\"Each\": {\"Type\": \"Map\", \"ItemProcessor\": {\"StartAt\": \"Leaf\","
    " \"States\": {\"Leaf\": {\"Type\": \"Task\", \"Resource\":"
    " \"baton:workflow:child\", \"End\": true}}}, \"End\": true},"
    "\"Done\": {\"Type\": \"Succeed\"},"
    "\"Broken\": {\"Type\": \"Fail\", \"Error\": \"E\"}}}";

static void test_graph_shapes_and_edges(void) {
    const baton_asl_def_t *def = LOAD(flow);
    char *g;
    if (!def) return;
    g = graph(def, NULL);
    CHECK(g && !strncmp(g, "flowchart TD\n", 13), "header: %s", g);
    CHECK_HAS(g, "  START((\"start\"))\n");
    CHECK_HAS(g, "  S0[\"Fetch<br/>activity llm/fetch\"]\n");
    CHECK_HAS(g, "  S1{\"Route\"}\n");
    CHECK_HAS(g, "  subgraph S2 [\"Fan (Parallel)\"]\n");
    CHECK_HAS(g, "    subgraph S2_b0 [\"branch 0\"]\n");
    CHECK_HAS(g, "      S6[\"A<br/>signal ok\"]\n");
    CHECK_HAS(g, "      S7[\"A<br/>wait 10s\"]\n");
    CHECK_HAS(g, "  subgraph S3 [\"Each (Map)\"]\n");
    CHECK_HAS(g, "    S8[\"Leaf<br/>workflow child\"]\n");
    CHECK_HAS(g, "  S4(\"Done\")\n");
    CHECK_HAS(g, "  S5([\"Broken\"])\n");
    CHECK_HAS(g, "  style S5 fill:#ffcdd2");
    CHECK_HAS(g, "  DONE(((\"end\")))\n");
    /* edges */
    CHECK_HAS(g, "  START --> S0\n");
    CHECK_HAS(g, "  S0 --> S1\n");
    CHECK_HAS(g, "  S0 -.->|\"retry States.Timeout x2\"| S0\n");
    CHECK_HAS(g, "  S0 -.->|\"catch States.ALL\"| S5\n");
    CHECK_HAS(g, "  S1 -->|\"$.n #lt; 3\"| S0\n");
    CHECK_HAS(
        g, "  S1 -->|\"($.s == 'a#quot;b') and ($.x is not present)\"| S2\n");
    CHECK_HAS(g, "  S1 -->|\"$.t matches 'log-*'\"| S3\n");
    CHECK_HAS(g, "  S1 -->|\"Default\"| S4\n");
    CHECK_HAS(g, "  S2 --> S4\n");
    CHECK_HAS(g, "  S3 --> DONE\n");
    CHECK_HAS(g, "  S4 --> DONE\n");
    CHECK_HAS(g, "  S5 --> DONE\n");
    CHECK(g && !strstr(g, "S8 --> DONE"), "a nested end is not the run's end");
    CHECK(g && !strstr(g, "fill:#ffe082"), "nothing highlighted");
    baton_free(g);
}

static void test_graph_highlight(void) {
    const baton_asl_def_t *def = LOAD(flow);
    char *g;
    if (!def) return;
    g = graph(def, "Route");
    CHECK_HAS(g, "  style S1 fill:#ffe082,stroke:#e65100,stroke-width:3px\n");
    baton_free(g);
    /* a state inside a branch, by its sub-path */
    g = graph(def, "Fan/1/A");
    CHECK_HAS(g, "  style S7 fill:#ffe082");
    baton_free(g);
    g = graph(def, "Each/Leaf");
    CHECK_HAS(g, "  style S8 fill:#ffe082");
    baton_free(g);
    g = graph(def, "Nope");
    CHECK(g && !strstr(g, "fill:#ffe082"), "unknown state: no highlight");
    baton_free(g);
}

static void test_graph_escaping(void) {
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"say \\\"hi\\\" <now> #1 | x\", \"States\": {"
        "\"say \\\"hi\\\" <now> #1 | x\": {\"Type\": \"Pass\", \"End\": true}}}");
    char *g;
    if (!def) return;
    g = graph(def, NULL);
    CHECK_HAS(
        g, "  S0[\"say #quot;hi#quot; #lt;now#gt; #35;1 #124; x<br/>pass\"]\n");
    baton_free(g);
}

int main(void) {
    RUN(test_graph_shapes_and_edges);
    RUN(test_graph_highlight);
    RUN(test_graph_escaping);
    return harness_report();
}
