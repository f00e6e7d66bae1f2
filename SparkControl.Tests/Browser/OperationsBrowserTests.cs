using Microsoft.Playwright;
using SparkControl.Core.Catalog;
using SparkControl.Core.Operations;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>Alerts on Settings and idle unload on Models and the Dashboard, in a real browser against the demo.</summary>
[Collection(BrowserCollection.Name)]
public sealed class OperationsBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task Settings_AddAWebhook_TestIt_TheReceiverGetsIt_AndTheAddressIsNeverShown()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/settings");
        await page.GetByTestId("add-alert").ClickAsync();
        await page.Locator("input[data-testid=alert-name]").FillAsync("phone");
        await page.Locator("input[data-testid=alert-url]").FillAsync(receiver.Url("/hook/s3cr3t-topic"));
        await page.GetByTestId("alert-save").ClickAsync();
        var row = page.GetByTestId("alert-phone");
        await Expect(row).ToContainTextAsync($"http://127.0.0.1:{receiver.Port}");
        await row.GetByTestId("alert-test").ClickAsync();
        await Expect(row.GetByTestId("alert-last")).ToContainTextAsync("answered 200");
        await page.SaveScreenshotAsync("settings-alerts.png");

        Assert.Equal("/hook/s3cr3t-topic", Assert.Single(receiver.Requests).Path);
        Assert.DoesNotContain("s3cr3t", await page.ContentAsync(), StringComparison.Ordinal);
        Assert.NotNull(app.Get<AlertSettingsStore>().Find("phone"));
    }

    [Fact]
    public async Task Models_SetAnIdleTime_TheCardSaysWhenTheModelGoes_AndCountsTheUnusedTime()
    {
        // Health checks once an hour here: nothing but the dashboard's own clock re-renders the card.
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["SparkControl:Health:Interval"] = "01:00:00" });
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/models");
        await page.GetByTestId("edit-idle-qwen3-8b").ClickAsync();
        await page.Locator("input[data-testid=idle-enabled]").CheckAsync();
        await page.Locator("input[data-testid=idle-minutes]").FillAsync("45");
        await page.GetByTestId("idle-save").ClickAsync();
        await Expect(page.GetByTestId("idle-qwen3-8b")).ToHaveTextAsync("after 45 min unused");
        await page.GotoAsync("/");
        var idle = page.GetByTestId("idle-unload");
        await Expect(idle).ToContainTextAsync("Unloads after 45 min unused");
        var first = await idle.TextContentAsync();
        await Expect(idle).Not.ToHaveTextAsync(first!);
        var second = await idle.TextContentAsync();
        await Expect(idle).Not.ToHaveTextAsync(second!);
        await page.SaveScreenshotAsync("dashboard-idle.png");

        Assert.Equal(TimeSpan.FromMinutes(45), app.Get<CatalogStore>().Current.Find("qwen3-8b")!.IdleUnloadAfter);
    }
}
