using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>A mistyped address shows the not-found page and its way back, in Chromium, not a blank page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class NotFoundBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Theory]
    [InlineData("/no-such-page")]
    [InlineData("/models/no/such/page")]
    public async Task AMistypedAddress_ShowsTheNotFoundPage_AndLeadsBackToTheDashboard(string path)
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

        var response = await page.GotoAsync(path);

        Assert.Equal(404, response?.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
        await Expect(page.GetByText("There is no page at this address.")).ToBeVisibleAsync();
        await page.SaveScreenshotAsync("not-found.png");
        await page.GetByRole(AriaRole.Link, new() { Name = "Back to the dashboard" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
    }
}
