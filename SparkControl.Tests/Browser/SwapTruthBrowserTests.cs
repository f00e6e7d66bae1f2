using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>What the swap dialog and the dashboard's cards say about a swap is what is: one verdict, one picture.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SwapTruthBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    private static readonly string[] DemoServices = ["parakeet-asr", "embeddings", "tts", "qdrant", "open-webui"];

    /// <summary>
    /// Records, at the DOM change that turns the swap card Ready, what the Spark card, the model server's tile and the
    /// gateway card show in that same render: nothing in between can have updated them.
    /// </summary>
    private const string RecordAtReady = """
        () => {
          window.scAtReady = null;
          const read = () => {
            const spark = document.querySelector('[data-testid=spark-demo]');
            const card = spark && spark.querySelector('[data-testid=swap-card]');
            if (window.scAtReady || !card || card.getAttribute('data-phase') !== 'Ready') return;
            const tile = spark.querySelector('[data-testid=service-sparkcontrol-llm]');
            const model = spark.querySelector('[data-testid=loaded-model-name]');
            const status = spark.querySelector('[data-testid=loaded-model-status]');
            window.scAtReady = {
              model: model ? model.textContent.trim() : '',
              modelStatus: status ? status.getAttribute('data-status') : '',
              tileStatus: tile ? tile.querySelector('[data-testid=service-status]').getAttribute('data-status') : '',
              tileReason: tile ? tile.querySelector('[data-testid=service-reason]').textContent.trim() : '',
              gateway: [...document.querySelectorAll('[data-testid=gateway-name]')].map(c => c.textContent.trim()),
            };
          };
          new MutationObserver(read).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          read();
        }
        """;

    private sealed record AtReady(string Model, string ModelStatus, string TileStatus, string TileReason, string[] Gateway);

    /// <summary>The demo with its first model Ready; a long health interval when the test must not be helped by the monitor.</summary>
    private static Task<SparkControlApp> StartDemoAsync(string? healthInterval = null)
    {
        var settings = new Dictionary<string, string?> { ["Demo:LoadTime"] = "00:00:00.500" };
        if (healthInterval is not null)
        {
            settings["SparkControl:Health:Interval"] = healthInterval;
        }

        return DemoSwaps.StartDemoAsync(settings);
    }

    [Fact]
    public async Task SwapDialog_ModelPlusReserveAboveWhatWouldBeFree_SaysDoesNotFitWithTheNumbers_AsTheOrchestratorDoes()
    {
        await using var app = await StartDemoAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        // With every service stopped the plan fits (112 + 4 GiB of 121.7), but less than 116 GiB would be free.
        await page.GetByTestId("swap-llama-3.3-70b").ClickAsync();
        foreach (var service in DemoServices)
        {
            await page.GetByTestId($"swap-stop-{service}").CheckAsync();
            await Expect(page.GetByTestId($"swap-stop-{service}")).ToBeCheckedAsync();
        }

        var dialog = page.GetByTestId("swap-dialog");
        await Expect(dialog.GetByTestId("swap-budget-fits")).ToHaveTextAsync("does not fit");
        await Expect(page.GetByTestId("swap-dialog-start")).ToBeDisabledAsync();
        var blocker = dialog.GetByTestId("swap-dialog-blocker");
        await Expect(blocker).ToContainTextAsync("needs 116 GiB");
        await Expect(blocker).ToContainTextAsync("would be free");
        await Expect(dialog.GetByTestId("swap-dialog-warning")).ToContainTextAsync("weights 131.4 GiB (141 GB) exceed the 112 GiB reservation");
        var said = (await blocker.TextContentAsync())!.Trim();
        await page.SaveScreenshotAsync("swap-dialog-over-budget.png");

        using var client = app.CreateClient();
        var id = await DemoSwaps.StartSwapAsync(client, "llama-3.3-70b", DemoServices);
        var ended = await SwapApi.WaitForAsync(client, id, SwapApi.Ended, "the swap to llama-3.3-70b ends");

        Assert.Equal("failed", ended.GetProperty("phase").GetString());
        Assert.Equal("preflight", ended.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString()).ElementAt(1));
        Assert.Equal(said, ended.GetProperty("failure").GetProperty("message").GetString());
    }

    [Fact]
    public async Task SwapDialog_WhileAnotherSwapRuns_HasSwapDisabled_NamingTheRunningSwap_UntilItEnds()
    {
        await using var app = await StartDemoAsync();
        using var client = app.CreateClient();
        var (running, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");

        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        var dialog = page.GetByTestId("swap-dialog");
        // The row re-renders with the running swap's progress; on a loaded machine a click can land on the row as it is
        // replaced and open nothing (a CI run showed the page without the dialog): click again only when none opened.
        for (var attempt = 0; attempt < 4 && await dialog.CountAsync() == 0; attempt++)
        {
            await page.GetByTestId("swap-qwen3-coder-30b").ClickAsync();
            try
            {
                await dialog.WaitForAsync(new() { Timeout = 15_000 });
            }
            catch (PlaywrightException)
            {
                // Not open within 15 s: the loop clicks again.
            }
        }

        await Expect(dialog.GetByTestId("swap-dialog-blocker")).ToContainTextAsync("gpt-oss-20b is swapping on demo");
        await Expect(dialog.GetByTestId("swap-dialog-blocker")).ToContainTextAsync(running);
        await Expect(page.GetByTestId("swap-dialog-start")).ToBeDisabledAsync();
        await page.SaveScreenshotAsync("swap-dialog-busy.png");

        // The dialog follows the board: once the running swap ends, the new verdict lets the swap start.
        loading.SetResult();
        await Expect(dialog.GetByTestId("swap-dialog-previous")).ToContainTextAsync("gpt-oss-20b");
        await Expect(dialog.GetByTestId("swap-dialog-blocker")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("swap-dialog-start")).ToBeEnabledAsync();
    }

    [Fact]
    public async Task Dashboard_DuringLoading_NoCardShowsTheStoppedModelHealthy()
    {
        await using var app = await StartDemoAsync(healthInterval: "00:10:00");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        var spark = page.GetByTestId("spark-demo");
        await Expect(spark.GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");

        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");
        await Expect(page.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Loading");

        await Expect(spark.GetByTestId("loaded-model-name")).ToHaveTextAsync("gpt-oss-20b");
        await Expect(spark.GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Loading");
        var tile = spark.GetByTestId("service-sparkcontrol-llm");
        await Expect(tile.GetByTestId("service-status")).ToHaveAttributeAsync("data-status", "Loading");
        await Expect(tile.GetByTestId("service-reason")).ToContainTextAsync("gpt-oss-20b");
        await Expect(page.GetByTestId("gateway-name").Filter(new() { HasText = "qwen3-8b" })).ToHaveCountAsync(0);
        await page.SaveScreenshotAsync("dashboard-swap-loading.png");
        loading.SetResult();
    }

    [Fact]
    public async Task Dashboard_AtReady_SparkCardTileAndGatewayShowTheNewModelInTheSameRender()
    {
        await using var app = await StartDemoAsync(healthInterval: "00:10:00");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");

        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");
        await Expect(page.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Loading");
        await page.EvaluateAsync(RecordAtReady);
        loading.SetResult();
        await Expect(page.Locator($"[data-swap='{id}']")).ToHaveAttributeAsync("data-phase", "Ready");

        var seen = JsonSerializer.Deserialize<AtReady>(await page.EvaluateAsync<string>("() => JSON.stringify(window.scAtReady)"), JsonSerializerOptions.Web)!;
        Assert.Equal("gpt-oss-20b", seen.Model);
        Assert.Equal("Healthy", seen.ModelStatus);
        Assert.Equal("Healthy", seen.TileStatus);
        Assert.Contains("gpt-oss-20b", seen.TileReason, StringComparison.Ordinal);
        Assert.Contains("gpt-oss-20b", seen.Gateway);
        Assert.DoesNotContain("qwen3-8b", seen.Gateway);
        await page.SaveScreenshotAsync("dashboard-swap-ready.png");
    }

    /// <summary>
    /// Records every status and reason the Services page shows for the model server, from now on: what it showed in
    /// between is gone from the DOM by the time the test looks.
    /// </summary>
    private const string RecordServicesRow = """
        () => {
          window.scRow = [];
          const read = () => {
            const chip = document.querySelector('[data-testid=services-status-demo-sparkcontrol-llm]');
            const reason = document.querySelector('[data-testid=services-reason-demo-sparkcontrol-llm]');
            if (!chip || !reason) return;
            const now = { status: chip.getAttribute('data-status'), reason: reason.textContent.trim() };
            const last = window.scRow[window.scRow.length - 1];
            if (!last || last.status !== now.status || last.reason !== now.reason) window.scRow.push(now);
          };
          new MutationObserver(read).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          read();
        }
        """;

    private sealed record RowState(string Status, string Reason);

    [Fact]
    public async Task ServicesPage_DuringLoading_DoesNotShowTheStoppedModelHealthy_AndAtReady_ShowsTheNewModel()
    {
        await using var app = await StartDemoAsync(healthInterval: "00:10:00");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/services");
        var status = page.GetByTestId("services-status-demo-sparkcontrol-llm");
        var reason = page.GetByTestId("services-reason-demo-sparkcontrol-llm");
        await Expect(status).ToHaveAttributeAsync("data-status", "Healthy");
        await page.EvaluateAsync(RecordServicesRow);

        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");
        await Expect(status).ToHaveAttributeAsync("data-status", "Loading");
        await Expect(reason).ToContainTextAsync("gpt-oss-20b");
        await page.SaveScreenshotAsync("services-swap-loading.png");

        loading.SetResult();
        await SwapApi.WaitForAsync(client, id, SwapApi.Ended, "the swap ends");
        await Expect(status).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(reason).ToContainTextAsync("gpt-oss-20b");

        // From the swap's Loading the row went straight to the new model: never back to the stopped one in between.
        var seen = JsonSerializer.Deserialize<RowState[]>(await page.EvaluateAsync<string>("() => JSON.stringify(window.scRow)"), JsonSerializerOptions.Web)!;
        var afterLoading = seen.SkipWhile(s => s.Status != "Loading").SkipWhile(s => s.Status == "Loading").First();
        Assert.Equal("Healthy", afterLoading.Status);
        Assert.Contains("gpt-oss-20b", afterLoading.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(seen.SkipWhile(s => s.Status != "Loading"), s => s.Reason.Contains("qwen3-8b", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServiceDetailPage_DuringLoading_DoesNotShowTheStoppedModelHealthy()
    {
        await using var app = await StartDemoAsync(healthInterval: "00:10:00");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/services/demo/sparkcontrol-llm");
        await Expect(page.GetByTestId("detail-status")).ToHaveAttributeAsync("data-status", "Healthy");

        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");
        await Expect(page.GetByTestId("detail-status")).ToHaveAttributeAsync("data-status", "Loading");
        await Expect(page.GetByTestId("detail-reason")).ToContainTextAsync("gpt-oss-20b");
        loading.SetResult();
    }
}
