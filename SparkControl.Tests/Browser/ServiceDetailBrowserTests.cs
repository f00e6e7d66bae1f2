using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class ServiceDetailBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task DetailPage_StopTheService_TheDashboardInAnotherTabSeesItLive()
    {
        await using var app = await SparkControlApp.StartAsync();
        var dashboard = await NewPageAsync(app.BaseAddress);
        var detail = await NewPageAsync(app.BaseAddress);
        await dashboard.GotoAsync("/");
        var asrOnDashboard = dashboard.GetByTestId("spark-demo").GetByTestId("service-parakeet-asr").GetByTestId("service-status");
        await Expect(asrOnDashboard).ToHaveAttributeAsync("data-status", "Healthy");

        await detail.GotoAsync("/services/demo/parakeet-asr");
        await Expect(detail.GetByTestId("detail-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(detail.GetByTestId("container-facts")).ToContainTextAsync("sparkcontrol/sim-parakeet-asr:demo");
        await Expect(detail.GetByTestId("log-lines")).ToContainTextAsync("Uvicorn running");
        await detail.SaveScreenshotAsync("service-detail.png");
        await detail.GetByTestId("action-stop").ClickAsync();
        await Expect(detail.GetByTestId("confirm-dialog")).ToContainTextAsync("Stop the container parakeet-asr on demo");
        await detail.GetByTestId("confirm-ok").ClickAsync();

        // The other tab was never touched: the health stream carries the change to it.
        await Expect(asrOnDashboard).ToHaveAttributeAsync("data-status", "Down");
        await Expect(detail.GetByTestId("detail-status")).ToHaveAttributeAsync("data-status", "Down");
        await Expect(detail.GetByTestId("action-start")).ToBeEnabledAsync();

        await detail.GetByTestId("action-start").ClickAsync();
        await detail.GetByTestId("confirm-ok").ClickAsync();
        await Expect(asrOnDashboard).ToHaveAttributeAsync("data-status", "Healthy");
    }

    [Fact]
    public async Task HostPage_AptUpdate_StreamsItsOutput_AndReapplyPatchesRestoresTheTtsCap()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/sparks/demo/host");
        await Expect(page.GetByTestId("host-facts")).ToContainTextAsync("NVIDIA GB10");
        await Expect(page.GetByTestId("host-model-container")).ToContainTextAsync("sparkcontrol-llm");

        await page.GetByTestId("host-apt-update").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("host-action-output")).ToContainTextAsync("Reading package lists... Done");
        await Expect(page.GetByTestId("host-action-output")).ToContainTextAsync("(finished)");

        // The demo starts tts without the 8g cap services.yaml gives it, as a recreated container would be.
        await page.GetByTestId("host-reapply").ClickAsync();
        await Expect(page.GetByTestId("reapply-result")).ToContainTextAsync("memory cap none → 8g");
        await Expect(page.GetByTestId("reapply-result")).ToContainTextAsync("already 16g");
        await page.SaveScreenshotAsync("host.png");
    }

    [Fact]
    public async Task HostPage_FullUpgrade_ShowsWhatItRemoves_BeforeItRuns()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/sparks/demo/host");
        await Expect(page.GetByTestId("updates-apt")).ToContainTextAsync("1 to remove");
        await Expect(page.GetByTestId("updates-firmware")).ToContainTextAsync("1 device with a pending update");

        await page.GetByTestId("host-apt-full-upgrade").ClickAsync();
        await Expect(page.GetByTestId("full-upgrade-removal")).ToContainTextAsync("nvidia-container-toolkit-legacy");
        // The preview is on screen and nothing has started yet.
        Assert.Null(await app.Get<SparkControl.Core.Maintenance.HostActionService>().AttachAsync("demo", CancellationToken.None));
        await page.GetByTestId("full-upgrade-run").ClickAsync();

        await Expect(page.GetByTestId("host-action-output")).ToContainTextAsync("Removing nvidia-container-toolkit-legacy (1.16.2-1) ...");
        await Expect(page.GetByTestId("host-action-output")).ToContainTextAsync("(finished)");
        await Expect(page.GetByTestId("last-run-apt-full-upgrade")).ToContainTextAsync("finished");
    }

    [Fact]
    public async Task HostPage_LeftMidUpgrade_TheUpgradeRunsOn_AndTheReturningPageShowsIt()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/sparks/demo/host");
        await Expect(page.GetByTestId("host-facts")).ToContainTextAsync("NVIDIA GB10");

        await page.GetByTestId("host-apt-upgrade").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("host-action-output")).ToContainTextAsync("Reading package lists... Done");
        await page.GotoAsync("/");
        await page.GotoAsync("/sparks/demo/host");

        // Still running (its output follows, from the first line) or ended meanwhile: either way the page says so.
        await Expect(page.GetByTestId("host-action-state")).ToContainTextAsync("apt-get upgrade");
        var state = await app.Get<SparkControl.Core.Maintenance.HostActionService>().AttachAsync("demo", CancellationToken.None);
        Assert.Equal(SparkControl.Core.Hosts.HostAction.AptUpgrade, state!.Action);
        await Wait.UntilAsync(async () => (await app.Get<SparkControl.Core.Maintenance.HostActionService>().AttachAsync("demo", CancellationToken.None))!.Succeeded, "the upgrade ran to its end");
    }
}
