using System.Security.Cryptography;
using Microsoft.Playwright;
using SparkControl.Core.Vectors;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>Qdrant from the browser: search finds a document just added, the collections page, snapshot now with progress, download.</summary>
[Collection(BrowserCollection.Name)]
public sealed class QdrantBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    private static async Task<SparkControlApp> StartAsync()
    {
        var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        await TestQdrant.WaitForDemoAsync(app);
        return app;
    }

    [Fact]
    public async Task ADocumentAddedOnTheSearchPage_IsFoundThere_AndListedAmongTheCollections()
    {
        await using var app = await StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/search");

        await page.GetByTestId("search-collection").FillAsync("handbook");
        await page.GetByTestId("document-text").FillAsync("The backup generator starts after ten seconds without mains power.");
        await page.GetByTestId("document-source").FillAsync("power.md");
        await page.GetByTestId("document-add").ClickAsync();
        await Expect(page.GetByTestId("document-added")).ToContainTextAsync("Added 1 chunk to handbook on demo/qdrant");
        await page.GetByTestId("document-text").FillAsync("Fans spin faster when the GPU is hot.");
        await page.GetByTestId("document-source").FillAsync("fans.md");
        await page.GetByTestId("document-add").ClickAsync();
        await Expect(page.GetByTestId("document-added")).ToContainTextAsync("Added 1 chunk");

        await page.GetByTestId("search-query").FillAsync("backup generator");
        await page.GetByTestId("search-run").ClickAsync();
        await Expect(page.GetByTestId("search-hit").First).ToContainTextAsync("power.md");
        await Expect(page.GetByTestId("search-hit").First).ToContainTextAsync("backup generator starts");
        await page.SaveScreenshotAsync("search.png");

        await page.GotoAsync("/services/demo/qdrant");
        await Expect(page.GetByTestId("collection-handbook")).ToContainTextAsync("384 · Cosine");
        await Expect(page.GetByTestId("collection-handbook")).ToContainTextAsync("2");
        await Expect(page.GetByTestId("qdrant-open")).ToContainTextAsync("open to anyone");
        await page.GetByTestId("collection-handbook").GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByTestId("collection-info")).ToContainTextAsync("2 points");
        await Expect(page.GetByTestId("collection-point")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("collection-sample")).ToContainTextAsync("384 values, length 1");
    }

    [Fact]
    public async Task SnapshotNow_ShowsItsProgress_KeepsTheCopy_AndDownloadsIt()
    {
        await using var app = await StartAsync();
        var service = app.Get<QdrantConnections>().Resolve("demo/qdrant");
        await app.Get<VectorSearch>().AddDocumentsAsync("notes", new DocumentsRequest([new DocumentInput("Snapshots are taken at three every night.", "ops.md")]), CancellationToken.None);
        var store = app.Get<SimulatedSparkHost>().QdrantStore("qdrant")!;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeDownload = cancellationToken => release.Task.WaitAsync(cancellationToken);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/services/demo/qdrant");

        await Expect(page.GetByTestId("collection-notes")).ToBeVisibleAsync();
        await page.GetByTestId("snapshot-now").ClickAsync();
        await Expect(page.GetByTestId("snapshot-progress")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("snapshot-status").First).ToContainTextAsync("downloading 0 B of");
        await page.SaveScreenshotAsync("qdrant-snapshot-progress.png");
        release.SetResult();
        await Expect(page.GetByTestId("snapshot-status").First).ToHaveTextAsync("kept");
        await Expect(page.GetByTestId("snapshot-progress")).ToHaveCountAsync(0);

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("snapshot-download").First.ClickAsync());
        var path = await download.PathAsync();
        var run = app.Get<SparkControl.Core.Vectors.Snapshots.QdrantSnapshots>().Runs(service)[0];
        Assert.EndsWith(".snapshot", download.SuggestedFilename, StringComparison.Ordinal);
        Assert.Equal(run.Checksum, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
        await page.SaveScreenshotAsync("qdrant.png");
    }

    [Fact]
    public async Task AFailedSnapshot_IsAnAlertOnTheDashboard_UntilALaterOneSucceeds()
    {
        await using var app = await StartAsync();
        var service = app.Get<QdrantConnections>().Resolve("demo/qdrant");
        var snapshots = app.Get<SparkControl.Core.Vectors.Snapshots.QdrantSnapshots>();
        await app.Get<VectorSearch>().AddDocumentsAsync("notes", new DocumentsRequest([new DocumentInput("Alerts say what failed.", "ops.md")]), CancellationToken.None);
        var store = app.Get<SimulatedSparkHost>().QdrantStore("qdrant")!;
        store.SnapshotWritten = path => File.AppendAllText(path, " ");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo")).ToBeVisibleAsync();

        await (await snapshots.StartAsync(service, "notes", "test", CancellationToken.None)).Done;

        await Expect(page.GetByTestId("snapshot-alert")).ToContainTextAsync("The snapshot of notes on Qdrant demo/qdrant failed");
        await Expect(page.GetByTestId("snapshot-alert")).ToContainTextAsync("does not match Qdrant's checksum");
        store.SnapshotWritten = null;
        await (await snapshots.StartAsync(service, "notes", "test", CancellationToken.None)).Done;
        await Expect(page.GetByTestId("snapshot-alert")).ToHaveCountAsync(0);
    }
}
