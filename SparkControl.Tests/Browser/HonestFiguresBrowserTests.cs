using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>What the panel shows is what is: times, limits and the Dashboard's figures, seen in Chromium in demo mode.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class HonestFiguresBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task Swap_ToAModelAlreadyOnDisk_ShowsNoTimeLeftGuessedFromItsSize()
    {
        await using var app = await DemoSwaps.StartDemoAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");

        // gpt-oss-20b is on the demo's disk and has never been loaded: nothing is downloaded, no past swap gives a time.
        using var client = app.CreateClient();
        var (id, loading) = await DemoSwaps.StartHeldAtLoadingAsync(app, client, "gpt-oss-20b");
        var card = page.Locator($"[data-swap='{id}']");
        await Expect(card).ToHaveAttributeAsync("data-phase", "Loading");
        await page.SaveScreenshotAsync("swap-on-disk-no-eta.png");

        await Expect(card.GetByTestId("swap-eta")).ToHaveTextAsync(string.Empty);
        loading.SetResult();
        await Expect(card).ToHaveAttributeAsync("data-phase", "Ready");
    }

    [Fact]
    public async Task SparkDialog_Port99999_IsRefusedWithTheReason_NotClampedTo65535()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/settings");
        await page.GetByTestId("add-spark").ClickAsync();
        var port = page.GetByTestId("spark-port-input");

        await port.FillAsync("99999");
        await port.BlurAsync();

        await Expect(page.GetByTestId("spark-dialog")).ToContainTextAsync("SSH port must be between 1 and 65535, not 99999");
        await Expect(port).ToHaveValueAsync("99999");
        await Expect(page.GetByTestId("spark-save")).ToBeDisabledAsync();
        await page.SaveScreenshotAsync("spark-dialog-port.png");
    }

    [Fact]
    public async Task Settings_DemoSparkExists_ServicesPanelDoesNotAskToAddASparkFirst()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/settings");

        var table = page.GetByTestId("services-config-table");
        await Expect(table).ToContainTextAsync("No services configured.");
        await Expect(table).Not.ToContainTextAsync("Add a Spark first.");
        await Expect(page.GetByTestId("add-service")).ToBeEnabledAsync();
    }

    [Fact]
    public async Task Dashboard_SparkCard_ShowsGpuUtilizationWithASparkline_AndUnifiedMemory()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");

        var card = page.GetByTestId("spark-demo").GetByTestId("spark-card");
        await Expect(card.GetByTestId("card-gpu-utilization")).ToHaveTextAsync(PercentPattern());
        await Expect(card.GetByTestId("gpu-sparkline")).ToHaveAttributeAsync("data-points", SeveralPattern());
        await Expect(card.GetByTestId("card-gpu-memory")).ToHaveTextAsync(MemoryPattern());
        await page.SaveScreenshotAsync("dashboard-spark-card-gpu.png");
    }

    [Fact]
    public async Task ModelsAndSwaps_CanBeSearchedAndSorted()
    {
        await using var app = await DemoSwaps.StartDemoAsync();
        string id;
        using (var client = app.CreateClient())
        {
            id = await DemoSwaps.StartSwapAsync(client, "gpt-oss-20b");
            await SwapApi.WaitForReadyAsync(client, id, "the swap to gpt-oss-20b is ready");
        }

        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        var models = page.Locator("[data-testid=models-table] tbody tr");
        await Expect(models).ToHaveCountAsync(4);
        var ascending = await ModelNamesAsync(page);
        await page.GetByTestId("models-sort-name").ClickAsync();
        await Expect(models.First).Not.ToContainTextAsync(ascending[0]);
        var descending = await ModelNamesAsync(page);
        await page.GetByTestId("models-search").FillAsync("coder");
        await Expect(models).ToHaveCountAsync(1);
        await Expect(models).ToContainTextAsync("qwen3-coder-30b");
        await page.SaveScreenshotAsync("models-search.png");
        await page.GetByTestId("models-search").FillAsync("no-such-model");
        await Expect(page.GetByTestId("models-table")).ToContainTextAsync("No model matches 'no-such-model'.");

        await page.GotoAsync("/swaps");
        var swaps = page.Locator("[data-testid=swap-history] tbody tr");
        await Expect(page.GetByTestId("history-outcome")).ToHaveCountAsync(2);
        var modelHeader = page.Locator("[data-testid=swap-history] th").Filter(new() { HasText = "Model" }).GetByText("Model", new() { Exact = true });
        await modelHeader.ClickAsync();
        await Expect(swaps.First).ToContainTextAsync("gpt-oss-20b");
        await modelHeader.ClickAsync();
        await Expect(swaps.First).Not.ToContainTextAsync("gpt-oss-20b");
        await page.GetByTestId("history-search").FillAsync(id);
        await Expect(page.GetByTestId("history-outcome")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("swap-history")).ToContainTextAsync("qwen3-8b → gpt-oss-20b");
        await page.SaveScreenshotAsync("swaps-search.png");

        Assert.Equal(4, ascending.Length);
        Assert.Equal(ascending.Reverse(), descending);
    }

    private static async Task<string[]> ModelNamesAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('[data-testid=models-table] tbody tr td:first-child b')].map(b => b.textContent.trim())");

    [GeneratedRegex(@"^\d{1,3} %$")]
    private static partial Regex PercentPattern();

    [GeneratedRegex(@"^([2-9]|\d{2,})$")]
    private static partial Regex SeveralPattern();

    [GeneratedRegex(@"^[\d.]+ of [\d.]+ GiB$")]
    private static partial Regex MemoryPattern();
}
