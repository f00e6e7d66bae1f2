using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using SparkControl.Sim.Hosting;
using SparkControl.Sim.Server;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class SwapBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    private static readonly string[] Order = ["Requested", "Preflight", "Downloading", "Draining", "Stopping", "Launching", "Loading", "Verifying", "Ready"];

    /// <summary>Records every phase the swap card shows, as the page renders it, until it shows Ready.</summary>
    private const string RecordPhases = """
        () => {
          window.scPhases = [];
          const tick = () => {
            const card = document.querySelector('[data-testid=swap-card]');
            const phase = card && card.getAttribute('data-phase');
            if (phase && window.scPhases[window.scPhases.length - 1] !== phase) window.scPhases.push(phase);
            if (phase !== 'Ready') requestAnimationFrame(tick);
          };
          tick();
        }
        """;

    private static Task<SparkControlApp> StartDemoAsync(string loadTime) => DemoSwaps.StartDemoAsync(new() { ["Demo:LoadTime"] = loadTime });

    [Fact]
    public async Task TwoBrowsers_WatchingOneSwap_SeeTheSamePhasesInOrder_AndEndReady()
    {
        await using var app = await StartDemoAsync("00:00:00.500");
        var first = await NewPageAsync(app.BaseAddress);
        var second = await NewPageAsync(app.BaseAddress);
        foreach (var page in new[] { first, second })
        {
            await page.GotoAsync("/");
            await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");
        }

        // The dashboard still shows the demo's first swap (Ready); record from the moment the new one replaces it. The
        // new model stays in Loading until both pages record and the app bar has been seen, however slow the machine.
        var loading = app.Get<SimulatedSparkHost>().HoldNextLaunch();
        using var client = app.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        foreach (var page in new[] { first, second })
        {
            await Expect(page.Locator($"[data-swap='{id}']")).ToBeVisibleAsync();
            await page.EvaluateAsync(RecordPhases);
        }

        await Expect(first.GetByTestId("swap-indicator")).ToContainTextAsync("gpt-oss-20b");
        await Expect(first.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Loading");
        await first.SaveScreenshotAsync("swap-loading.png");
        loading.SetResult();
        foreach (var page in new[] { first, second })
        {
            await Expect(page.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Ready");
        }

        var seenFirst = await first.EvaluateAsync<string[]>("() => window.scPhases");
        var seenSecond = await second.EvaluateAsync<string[]>("() => window.scPhases");
        var stepsFirst = await StepsAsync(first);
        var stepsSecond = await StepsAsync(second);

        foreach (var seen in new[] { seenFirst, seenSecond })
        {
            Assert.Equal("Ready", seen[^1]);
            Assert.Contains("Loading", seen);
            Assert.Equal(seen.OrderBy(p => Array.IndexOf(Order, p)), seen);
        }

        Assert.Equal(["preflight:done", "draining:done", "stopping:done", "launching:done", "loading:done", "verifying:done", "ready:done"], stepsFirst);
        Assert.Equal(stepsFirst, stepsSecond);
        await Expect(first.GetByTestId("swap-indicator")).ToHaveCountAsync(0);
        await Expect(first.GetByTestId("spark-demo").GetByTestId("loaded-model-name")).ToHaveTextAsync("gpt-oss-20b");
        await first.SaveScreenshotAsync("swap-ready.png");
    }

    [Fact]
    public async Task ARunningPhase_CountsUpOnTheDashboard_WhenNothingElseMoves()
    {
        // Health checks once an hour here, so no check re-renders the page: only the swap's own updates can.
        await using var app = await DemoSwaps.StartDemoAsync(new() { ["Demo:LoadTime"] = "00:00:00.500", ["SparkControl:Health:Interval"] = "01:00:00" });
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");
        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");

        var time = page.Locator($"[data-swap='{id}'] [data-testid=swap-step-loading] .mud-typography:last-child");
        await Expect(page.Locator($"[data-swap='{id}'] [data-testid=swap-step-loading]")).ToHaveAttributeAsync("data-state", "current");
        // Held at Loading, the swap's run republishes it once a second: the time counts past what its early updates showed.
        await Expect(time).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^([3-9]\.\d|\d\d) s$"));
        Assert.Equal("Loading", await page.Locator($"[data-swap='{id}']").GetAttributeAsync("data-phase"));
        loading.SetResult();
        await Expect(page.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Ready");
    }

    private static async Task<string[]> StepsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('[data-testid=swap-card] .sc-step')].map(s => s.getAttribute('data-testid').replace('swap-step-', '') + ':' + s.getAttribute('data-state'))");

    [Fact]
    public async Task ModelsPage_SwapDialog_ShowsPreflight_BlocksWhatDoesNotFit_ThenSwaps()
    {
        await using var app = await StartDemoAsync("00:00:00.500");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("swap-llama-3.3-70b").ClickAsync();
        await Expect(page.GetByTestId("swap-budget-fits")).ToHaveTextAsync("does not fit");
        await Expect(page.GetByTestId("swap-dialog-start")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("swap-dialog-blocker").First).ToContainTextAsync("gpu-memory-utilization");
        await page.SaveScreenshotAsync("swap-dialog-blocked.png");
        await page.GetByTestId("swap-dialog-cancel").ClickAsync();

        await page.GetByTestId("swap-gpt-oss-20b").ClickAsync();
        await Expect(page.GetByTestId("swap-budget-fits")).ToHaveTextAsync("fits");
        await Expect(page.GetByTestId("swap-dialog-command")).ToContainTextAsync("--served-model-name gpt-oss-20b");
        await Expect(page.GetByTestId("swap-dialog-previous")).ToContainTextAsync("qwen3-8b");
        await page.GetByTestId("swap-dialog-start").ClickAsync();

        await Expect(page.GetByTestId("serving-gpt-oss-20b")).ToContainTextAsync("demo (healthy)");
        await page.GotoAsync("/swaps");
        await Expect(page.GetByTestId("history-outcome").First).ToHaveTextAsync("Ready");
        await Expect(page.GetByTestId("swap-history")).ToContainTextAsync("qwen3-8b → gpt-oss-20b");
    }

    [Fact]
    public async Task FailedSwap_ShowsWhyAndTheLog_ThenTheRollback()
    {
        await using var app = await StartDemoAsync("00:00:00.500");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");
        app.Get<SimulatedSparkHost>().FailNextLaunch(SimFailure.OutOfMemory);

        using var client = app.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/swaps", new { model = "qwen3-coder-30b", spark = "demo" });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // The rollback replaces the failed swap on the Dashboard; the failed one stays in the history with its log.
        await Expect(page.GetByTestId("swap-rollback")).ToContainTextAsync($"Rolls back failed swap {id}");
        await Expect(page.GetByTestId("swap-card")).ToHaveAttributeAsync("data-phase", "Ready");
        await page.GotoAsync("/swaps");
        await page.GetByTestId("filter-outcome").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "Failed" }).ClickAsync();
        await Expect(page.GetByTestId("history-outcome")).ToHaveCountAsync(1);
        await page.Locator("[data-testid=swap-history] tbody tr").First.Locator("button").First.ClickAsync();
        await Expect(page.GetByTestId("swap-history")).ToContainTextAsync("out of memory: lower gpu-memory-utilization or max-model-len");
        await Expect(page.GetByTestId("swap-history")).ToContainTextAsync($"rolled back by");
        await page.SaveScreenshotAsync("swap-history.png");
    }
}
