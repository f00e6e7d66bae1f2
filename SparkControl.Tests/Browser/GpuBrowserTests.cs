using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class GpuBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task GpuPage_DemoReplay_ShowsLiveUtilizationAndTheLedger()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?>
        {
            ["Demo:GpuReplay"] = GpuFixtures.Path("timeline-duty.csv"),
            // Half speed, looping: the duty cycles (about 13 to 28 s of every 36 s pass) play whenever the page is up.
            ["Demo:GpuReplaySpeed"] = "0.5",
            ["Demo:GpuReplayLoop"] = "true",
            ["SparkControl:Gpu:FlushInterval"] = "00:00:01",
        });
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/gpu");

        var spark = page.GetByTestId("gpu-spark-demo");
        await Expect(spark.GetByTestId("gpu-activity")).ToHaveTextAsync("qwen3-8b");
        await Expect(spark.GetByTestId("gpu-stream")).ToHaveAttributeAsync("data-status", "Streaming");
        // Live: the figure follows the replay without a reload; polling sees several of its values go by.
        var utilization = spark.GetByTestId("gpu-utilization");
        var seen = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            seen.Add(await utilization.GetAttributeAsync("data-value") ?? string.Empty);
            return seen.Count(v => v.Length > 0) >= 3 && seen.Any(v => v is not ("" or "0"));
        }, "the utilization shown changes with the samples", TimeSpan.FromSeconds(40));
        await Expect(spark.GetByTestId("gpu-memory")).ToContainTextAsync("GiB");
        await Expect(spark.GetByTestId("gpu-ledger-qwen3-8b").GetByTestId("ledger-busy")).Not.ToHaveTextAsync("0");
        await Expect(spark.GetByTestId("busy-hour")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d)? %$"));
        await Wait.UntilAsync(async () => int.Parse(await spark.GetByTestId("gpu-sparkline").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture) >= 20,
            "the sparkline fills, a point a second");
        await Expect(spark.GetByTestId("gpu-hourly-chart").Locator("svg")).ToBeVisibleAsync();

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("gpu-csv").ClickAsync());
        var csv = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.StartsWith("spark,model,busySeconds,", csv, StringComparison.Ordinal);
        Assert.Contains("demo,qwen3-8b,", csv, StringComparison.Ordinal);

        await page.SaveScreenshotAsync("gpu.png");
    }
}
