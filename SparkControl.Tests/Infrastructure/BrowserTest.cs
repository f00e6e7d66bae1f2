using Microsoft.Playwright;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A test class that opens pages in the shared Chromium: each test's pages are closed when it ends, so a long run does
/// not keep a renderer for every page it ever opened.
/// </summary>
public abstract class BrowserTest(BrowserFixture browser) : IAsyncLifetime
{
    /// <summary>A fresh page in its own context (no shared cookies or storage between tests), closed when the test ends.</summary>
    protected Task<IPage> NewPageAsync(Uri baseAddress) => browser.NewPageAsync(baseAddress);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => browser.CloseContextsAsync();
}
