using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Security;

/// <summary>
/// The panel as an operator with a real Spark runs it: sign-in required (a real Spark is configured, the trusted lab's
/// switch is off). The Spark points at a closed loopback port, so whatever an allowed call sends it fails fast.
/// </summary>
public sealed partial class SecuredPanel : IAsyncDisposable
{
    public const string AdminName = "root-admin";
    public const string AdminPassword = "correct horse battery";

    private readonly TempDirectory _data;

    private SecuredPanel(SparkControlApp app, TempDirectory data)
    {
        App = app;
        _data = data;
    }

    public SparkControlApp App { get; }

    public static async Task<SecuredPanel> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var data = new TempDirectory("sc-secured");
        await File.WriteAllTextAsync(Path.Combine(data.Path, "sparks.yaml"), "sparks:\n  - name: spark-1\n    host: 127.0.0.1\n    port: 1\n    user: u\n");
        var all = new Dictionary<string, string?>
        {
            ["Security:AllowAnonymous"] = "false",
            ["SparkControl:Ssh:RetryAttempts"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = await SparkControlApp.StartAsync(all, data.Path);
        return new SecuredPanel(app, data);
    }

    /// <summary>A client that keeps cookies and does not follow redirects, like a browser's form posts seen one by one.</summary>
    public HttpClient Browser()
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true };
        return new HttpClient(handler) { BaseAddress = App.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient WithKey(string key)
    {
        var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>The setup token the panel wrote to its data directory on the first request that needed it.</summary>
    public async Task<string> SetupTokenAsync()
    {
        using var client = App.CreateClient();
        await client.GetAsync("/api/sparks");
        var path = Path.Combine(App.DataDirectory, "setup-token");
        await Wait.UntilAsync(() => File.Exists(path), "the setup token file");
        return (await File.ReadAllTextAsync(path)).Trim();
    }

    /// <summary>Posts a form the way the page does: GET the page for its antiforgery token, then POST with it.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string page, string action, Dictionary<string, string> fields)
    {
        var html = await browser.GetStringAsync(page);
        var input = AntiforgeryInput().Match(html);
        Assert.True(input.Success, $"{page} has no antiforgery token:\n{html}");
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(ValueAttribute().Match(input.Value).Groups[1].Value);
        return await browser.PostAsync(action, new FormUrlEncodedContent(fields));
    }

    /// <summary>Makes the first admin through the setup page and returns a browser signed in as them.</summary>
    public async Task<HttpClient> SetUpAdminAsync()
    {
        var token = await SetupTokenAsync();
        var browser = Browser();
        var response = await PostFormAsync(browser, "/setup", "/account/setup", new() { ["token"] = token, ["name"] = AdminName, ["password"] = AdminPassword });
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        browser.DefaultRequestHeaders.Add("X-SparkControl-Request", "1");
        return browser;
    }

    public static async Task<HttpClient> SignInAsync(SecuredPanel panel, string name, string password)
    {
        var browser = panel.Browser();
        var response = await PostFormAsync(browser, "/signin", "/account/signin", new() { ["name"] = name, ["password"] = password, ["returnUrl"] = "/" });
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        browser.DefaultRequestHeaders.Add("X-SparkControl-Request", "1");
        return browser;
    }

    public static async Task<string> CreateKeyAsync(HttpClient admin, string name, string kind, string? role)
    {
        var response = await admin.PostAsJsonAsync("/api/keys", new { name, kind, role });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("key").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        _data.Dispose();
    }

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*>")]
    private static partial Regex AntiforgeryInput();

    [GeneratedRegex("value=\"([^\"]+)\"")]
    private static partial Regex ValueAttribute();
}
