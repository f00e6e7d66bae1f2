using System.Net.Http.Json;
using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class DashboardBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task Dashboard_DemoMode_ShowsTheSparkItsModelAndServicesLive()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

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

        await page.SaveScreenshotAsync("dashboard.png");
    }

    [Fact]
    public async Task Dashboard_GatewayCard_ShowsTheEndpointItsNames_AndRequestsInFlightLive()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:TokensPerSecond"] = "5" });
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        var card = page.GetByTestId("gateway-card");
        await Expect(card.GetByTestId("gateway-base-url")).ToHaveTextAsync(new Uri(app.BaseAddress, "/v1").ToString());
        await Expect(card.GetByTestId("gateway-name").Filter(new() { HasText = "qwen3-8b" })).ToBeVisibleAsync();
        await Expect(card.GetByTestId("gateway-alias")).ToHaveTextAsync("default-chat → qwen3-8b");
        await Expect(card.GetByTestId("gateway-in-flight")).ToHaveTextAsync("0");

        // A slow stream (60 tokens at 5 per second) is in flight while the page watches, and leaves when cancelled.
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("{\"model\":\"default-chat\",\"stream\":true,\"max_tokens\":60,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", System.Text.Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await Expect(card.GetByTestId("gateway-in-flight")).ToHaveTextAsync("1");
        response.Dispose();
        await Expect(card.GetByTestId("gateway-in-flight")).ToHaveTextAsync("0");
    }

    [Fact]
    public async Task Dashboard_ReadOnlyDataDirectory_StillShowsTheDemoSpark()
    {
        await using var readOnly = await TmpfsMount.CreateReadOnlyAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: readOnly.Path);
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");

        await page.GotoAsync("/settings");
        await Expect(page.GetByTestId("data-directory-readonly")).ToContainTextAsync("the file system is read-only");
    }

    [Fact]
    public async Task Dashboard_DataDirectoryTurnsReadOnly_ABannerSaysWhatCannotBeSaved_Live()
    {
        await using var volume = await Ext4Volume.CreateAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: volume.Path);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(page.GetByTestId("storage-banner")).ToHaveCountAsync(0);

        await volume.FailAsync();
        using var client = app.CreateClient();
        using var swap = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });

        await Expect(page.GetByTestId("storage-banner")).ToContainTextAsync("the swap history");
        await Expect(page.GetByTestId("spark-demo").GetByTestId("loaded-model-name")).ToHaveTextAsync("gpt-oss-20b");
        await page.SaveScreenshotAsync("storage-banner.png");
    }

    [Fact]
    public async Task DarkModeToggle_SwitchesTheTheme()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo")).ToBeVisibleAsync();
        var before = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");

        await page.GetByTestId("dark-mode-toggle").ClickAsync();

        await Expect(page.Locator("body")).Not.ToHaveCSSAsync("background-color", before);
    }
}
