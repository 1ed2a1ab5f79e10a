import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Execution } from "@e2b/code-interpreter";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

// The chart types of @e2b/code-interpreter (dist/index.d.ts), loosely: the fields checked here.
interface AnyChart {
  type: string;
  title: string | null;
  x_label?: string | null;
  y_label?: string | null;
  x_unit?: string | null;
  y_unit?: string | null;
  x_scale?: string;
  y_scale?: string;
  x_ticks?: (number | string)[];
  x_tick_labels?: string[];
  elements: Record<string, unknown>[];
}

function onlyChart(execution: Execution): AnyChart {
  assert.equal(execution.error, undefined, execution.error?.traceback);
  const charts = execution.results.filter((r) => r.chart !== undefined);
  assert.equal(charts.length, 1, "one result with a chart");
  assert.match(charts[0]?.png ?? "", /^iVBORw0KGgo/);
  return charts[0]!.chart as unknown as AnyChart;
}

describe("charts from matplotlib figures", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter();
    await t.sandbox.runCode("import matplotlib.pyplot as plt\nimport numpy as np");
  });
  after(async () => {
    await t?.close();
  });

  it("line", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
x = np.array([0.0, 1.0, 2.0, 3.0])
plt.plot(x, x * 2, label='double')
plt.plot(x, x ** 2)
plt.title('Growth')
plt.xlabel('Time (s)')
plt.ylabel('Distance [m]')
plt.show()`),
    );
    assert.equal(chart.type, "line");
    assert.equal(chart.title, "Growth");
    assert.deepEqual([chart.x_label, chart.x_unit, chart.y_label, chart.y_unit], ["Time (s)", "s", "Distance [m]", "m"]);
    assert.equal(chart.x_scale, "linear");
    assert.equal(chart.y_scale, "linear");
    assert.equal(chart.x_ticks?.length, chart.x_tick_labels?.length);
    assert.deepEqual(chart.elements, [
      {
        label: "double",
        points: [
          [0, 0],
          [1, 2],
          [2, 4],
          [3, 6],
        ],
      },
      {
        label: "Line 1",
        points: [
          [0, 0],
          [1, 1],
          [2, 4],
          [3, 9],
        ],
      },
    ]);
  });

  it("a log scale and dates on the axes", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
import datetime
days = [datetime.date(2024, 1, d) for d in (1, 2, 3)]
fig, ax = plt.subplots()
ax.plot(days, [1, 10, 100])
ax.set_yscale('log')
fig`),
    );
    assert.equal(chart.type, "line");
    assert.equal(chart.x_scale, "datetime");
    assert.equal(chart.y_scale, "log");
    assert.deepEqual(chart.elements[0]?.points, [
      ["2024-01-01", 1],
      ["2024-01-02", 10],
      ["2024-01-03", 100],
    ]);
  });

  it("bar", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
plt.figure(figsize=(10, 6))
plt.bar(['Author A', 'Author B', 'Author C', 'Author D'], [100, 200, 300, 400], label='Books Sold')
plt.xlabel('Authors')
plt.ylabel('Number of Books Sold')
plt.title('Book Sales by Authors')
plt.show()`),
    );
    assert.equal(chart.type, "bar");
    assert.equal(chart.title, "Book Sales by Authors");
    assert.deepEqual([chart.x_label, chart.y_label, chart.x_unit, chart.y_unit], ["Authors", "Number of Books Sold", null, null]);
    assert.deepEqual(chart.elements, [
      { label: "Author A", value: 100, group: "Books Sold" },
      { label: "Author B", value: 200, group: "Books Sold" },
      { label: "Author C", value: 300, group: "Books Sold" },
      { label: "Author D", value: 400, group: "Books Sold" },
    ]);
  });

  it("scatter", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
plt.scatter([1, 2, 3], [4, 5, 6], label='Dataset 1')
plt.scatter([1.5, 2.5], [7, 8], label='Dataset 2')
plt.title('Points')
plt.xlabel('X')
plt.ylabel('Y')
plt.show()`),
    );
    assert.equal(chart.type, "scatter");
    assert.equal(chart.title, "Points");
    assert.deepEqual([chart.x_label, chart.y_label], ["X", "Y"]);
    assert.deepEqual(chart.elements, [
      {
        label: "Dataset 1",
        points: [
          [1, 4],
          [2, 5],
          [3, 6],
        ],
      },
      {
        label: "Dataset 2",
        points: [
          [1.5, 7],
          [2.5, 8],
        ],
      },
    ]);
  });

  it("pie", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
fig, ax = plt.subplots(figsize=(8, 8))
ax.pie([90, 10], labels=['No', 'No, in blue'], autopct='%1.1f%%', startangle=90)
ax.axis('equal')
plt.title('Will I wake up early tomorrow?')
plt.show()`),
    );
    assert.equal(chart.type, "pie");
    assert.equal(chart.title, "Will I wake up early tomorrow?");
    assert.deepEqual(chart.elements, [
      { label: "No", angle: 324, radius: 1 },
      { label: "No, in blue", angle: 36, radius: 1 },
    ]);
  });

  it("box and whisker", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
data = {'Class A': [85, 90, 78, 92, 88], 'Class B': [95, 89, 76, 91, 84, 87], 'Class C': [75, 82, 88, 79, 86]}
fig, ax = plt.subplots(figsize=(10, 6))
ax.set_title('Exam Scores Distribution')
ax.set_xlabel('Class')
ax.set_ylabel('Score')
ax.boxplot(data.values(), labels=data.keys(), patch_artist=True)
plt.show()`),
    );
    assert.equal(chart.type, "box_and_whisker");
    assert.equal(chart.title, "Exam Scores Distribution");
    assert.deepEqual([chart.x_label, chart.y_label, chart.x_unit, chart.y_unit], ["Class", "Score", null, null]);
    assert.deepEqual(chart.elements, [
      { label: "Class A", min: 78, first_quartile: 85, median: 88, third_quartile: 90, max: 92, outliers: [] },
      { label: "Class B", min: 84, first_quartile: 84.75, median: 88, third_quartile: 90.5, max: 95, outliers: [76] },
      { label: "Class C", min: 75, first_quartile: 79, median: 82, third_quartile: 86, max: 88, outliers: [] },
    ]);
  });

  it("a figure with several subplots is a superchart", async () => {
    const chart = onlyChart(
      await t.sandbox.runCode(`
x = np.linspace(0, 10, 100)
fig, axs = plt.subplots(1, 3, figsize=(12, 4))
fig.suptitle('Multiple Charts Example')
axs[0].plot(x, np.sin(x), 'r')
axs[0].set_title('Sine Wave')
axs[0].grid(True)
axs[1].scatter(np.random.rand(5), np.random.rand(5), label='Dataset 1')
axs[1].set_xlabel('X')
axs[1].set_ylabel('Y')
axs[1].set_title('Scatter Plot')
axs[2].bar(['a', 'b'], [3, 4])
axs[2].set_title('Bars')
plt.show()`),
    );
    assert.equal(chart.type, "superchart");
    assert.equal(chart.title, "Multiple Charts Example");
    const [line, scatter, bar] = chart.elements as unknown as AnyChart[];
    assert.deepEqual([line?.type, line?.title, line?.x_label, line?.y_label], ["line", "Sine Wave", null, null]);
    assert.equal((line!.elements[0]!.points as unknown[]).length, 100);
    assert.deepEqual([scatter?.type, scatter?.title, scatter?.x_label, scatter?.y_label], ["scatter", "Scatter Plot", "X", "Y"]);
    assert.equal((scatter!.elements[0]!.points as unknown[]).length, 5);
    assert.deepEqual([bar?.type, bar?.title], ["bar", "Bars"]);
    assert.deepEqual(bar?.elements, [
      { label: "a", value: 3, group: "Group 0" },
      { label: "b", value: 4, group: "Group 0" },
    ]);
  });

  it("axes without data have a picture but no chart", async () => {
    const execution = await t.sandbox.runCode("fig, ax = plt.subplots()\nfig");
    assert.equal(execution.results.length, 1);
    assert.match(execution.results[0]?.png ?? "", /^iVBORw0KGgo/);
    assert.equal(execution.results[0]?.chart, undefined);
  });
});
