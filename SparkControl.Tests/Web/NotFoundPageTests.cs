using System.Net;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// An address with no page answers 404 with the panel's page (whose router then shows the not-found page in the browser:
/// <c>NotFoundBrowserTests</c>); an address under a machine path (API, gateway) answers the bare status a program
/// expects. Before, every unknown page got the bare status too, which a browser shows as a blank page.
/// </summary>
public sealed class NotFoundPageTests(SharedAppFixture fixture) : IClassFixture<SharedAppFixture>, IDisposable
{
    /// <summary>The panel's pages render in the browser (no prerendering): what the server sends is the app's shell.</summary>
    private const string Shell = "_framework/blazor.web.js";

    private readonly HttpClient _client = fixture.App.CreateClient();

    public void Dispose() => _client.Dispose();

    [Theory]
    [InlineData("/no-such-page")]
    [InlineData("/models/no/such/page")]
    [InlineData("/no-such-page?tab=2")]
    [InlineData("/no-such-page%0A")]
    public async Task AnUnknownPage_Answers404_WithThePanelsPage(string path)
    {
        using var response = await _client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(Shell, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheNotFoundPageItself_Answers200()
    {
        using var response = await _client.GetAsync("/not-found");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(Shell, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/no-such-thing")]
    [InlineData("/v1/no-such-thing")]
    public async Task AnUnknownMachinePath_Answers404_WithoutThePage(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(Shell, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
