using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class DashboardBrowserTests(BrowserFixture browser)
{
    [Fact]
    public async Task Dashboard_DemoMode_ShowsTheSparkItsModelAndServicesLive()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");

        var spark = page.GetByTestId("spark-demo");
        await Expect(page.GetByTestId("demo-badge")).ToBeVisibleAsync();
        await Expect(spark.GetByTestId("spark-name")).ToHaveTextAsync("demo");
        await Expect(spark.GetByTestId("loaded-model-name")).ToHaveTextAsync("qwen3-8b");
        // The model loads in the background: the chip turns Healthy without a reload once vLLM's port answers.
        await Expect(spark.GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(spark.GetByTestId("service-parakeet-asr").GetByTestId("service-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(spark.GetByTestId("service-embeddings").GetByTestId("service-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(page.GetByTestId("app-version")).ToContainTextAsync("Spark Control v0.1.0");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Tools.ArtifactsDirectory, "dashboard.png"), FullPage = true });
    }

    [Fact]
    public async Task Dashboard_ReadOnlyDataDirectory_StillShowsTheDemoSpark()
    {
        await using var readOnly = await ReadOnlyMount.CreateAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: readOnly.Path);
        var page = await browser.NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");

        await page.GotoAsync("/settings");
        await Expect(page.GetByTestId("data-directory-readonly")).ToContainTextAsync("the file system is read-only");
    }

    [Fact]
    public async Task DarkModeToggle_SwitchesTheTheme()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo")).ToBeVisibleAsync();
        var before = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");

        await page.GetByTestId("dark-mode-toggle").ClickAsync();

        await Expect(page.Locator("body")).Not.ToHaveCSSAsync("background-color", before);
    }
}
