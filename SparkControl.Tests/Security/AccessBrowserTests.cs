using System.Net;
using System.Text.RegularExpressions;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Security;

/// <summary>Access control as a person meets it, in Chromium: first run, sign-in and out, roles, lockout, a hostile page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    /// <summary>The demo, with sign-in required: the demo's services give the roles something to act on.</summary>
    private static Task<SparkControlApp> StartSignedAsync() =>
        SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Security:AllowAnonymous"] = "false", ["Security:RequireSignIn"] = "true" });

    private static async Task SignInAsync(IPage page, string name, string password)
    {
        await page.GotoAsync("/signin");
        await page.GetByTestId("signin-name").FillAsync(name);
        await page.GetByTestId("signin-password").FillAsync(password);
        await page.GetByTestId("signin-submit").ClickAsync();
    }

    [Fact]
    public async Task FirstRun_SetupSignsInTheAdmin_SignOutAndSignInAgain()
    {
        await using var app = await StartSignedAsync();
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Uri(app.BaseAddress, "/setup").ToString());
        var token = (await File.ReadAllTextAsync(Path.Combine(app.DataDirectory, "setup-token"))).Trim();
        await page.GetByTestId("setup-token").FillAsync(token);
        await page.GetByTestId("setup-name").FillAsync("ada");
        await page.GetByTestId("setup-password").FillAsync("ada-password-1");
        await page.SaveScreenshotAsync("setup.png");
        await page.GetByTestId("setup-submit").ClickAsync();

        await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync("ada · admin");
        await Expect(page.GetByTestId("spark-demo")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("nav-access")).ToBeVisibleAsync();
        await page.GetByTestId("sign-out").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Uri(app.BaseAddress, "/signin").ToString());
        await page.GotoAsync("/models");
        await Expect(page).ToHaveURLAsync(new Regex("/signin\\?ReturnUrl=%2Fmodels$"));

        await page.GetByTestId("signin-name").FillAsync("ada");
        await page.GetByTestId("signin-password").FillAsync("ada-password-1");
        await page.SaveScreenshotAsync("signin.png");
        await page.GetByTestId("signin-submit").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Uri(app.BaseAddress, "/models").ToString());
        await Expect(page.GetByTestId("add-hf-model")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task AViewerSeesNoStopButton_AnOperatorDoes_AndTheAccessPageMakesBoth()
    {
        await using var app = await StartSignedAsync();
        var admin = await NewPageAsync(app.BaseAddress);
        await admin.GotoAsync("/setup");
        await admin.GetByTestId("setup-token").FillAsync((await File.ReadAllTextAsync(Path.Combine(app.DataDirectory, "setup-token"))).Trim());
        await admin.GetByTestId("setup-name").FillAsync("ada");
        await admin.GetByTestId("setup-password").FillAsync("ada-password-1");
        await admin.GetByTestId("setup-submit").ClickAsync();
        await admin.GotoAsync("/access");
        foreach (var (name, role) in new[] { ("vic", "viewer"), ("otto", "operator") })
        {
            await admin.GetByTestId("new-user-name").FillAsync(name);
            await admin.GetByTestId("new-user-password").FillAsync($"{name}-password-1");
            await admin.GetByTestId("new-user-role").GetByText(role, new() { Exact = true }).ClickAsync();
            await admin.GetByTestId("add-user").ClickAsync();
            await Expect(admin.GetByTestId($"user-{name}")).ToContainTextAsync(role);
        }

        await admin.SaveScreenshotAsync("access.png");

        var viewer = await NewPageAsync(app.BaseAddress);
        await SignInAsync(viewer, "vic", "vic-password-1");
        await viewer.GotoAsync("/services/demo/parakeet-asr");
        await Expect(viewer.GetByTestId("detail-status")).ToHaveAttributeAsync("data-status", "Healthy");
        await Expect(viewer.GetByTestId("role-note").First).ToContainTextAsync("Only an operator or an admin can start, stop and restart this service (you are viewer).");
        await Expect(viewer.GetByTestId("action-stop")).ToHaveCountAsync(0);
        await Expect(viewer.GetByTestId("nav-access")).ToHaveCountAsync(0);
        await viewer.SaveScreenshotAsync("service-detail-viewer.png");

        var operatorPage = await NewPageAsync(app.BaseAddress);
        await SignInAsync(operatorPage, "otto", "otto-password-1");
        await operatorPage.GotoAsync("/services/demo/parakeet-asr");
        await Expect(operatorPage.GetByTestId("action-stop")).ToBeEnabledAsync();

        // Promoted while the page is open: the next action reloads the page and it shows the new role's controls.
        await admin.GetByTestId("user-vic").GetByText("operator", new() { Exact = true }).ClickAsync();
        await Expect(admin.GetByTestId("user-vic").GetByRole(AriaRole.Radio, new() { Name = "operator" })).ToBeCheckedAsync();
        await viewer.GetByTestId("dark-mode-toggle").ClickAsync();
        await Expect(viewer.GetByTestId("action-stop")).ToBeEnabledAsync();

        // Disabled while the page is open: the next action signs them out, and the action does not run.
        await admin.GetByTestId("user-vic").GetByTestId("user-toggle").ClickAsync();
        await admin.GetByTestId("confirm-ok").ClickAsync();
        await Expect(admin.GetByTestId("user-vic")).ToContainTextAsync("disabled");
        try
        {
            await viewer.GetByTestId("action-stop").ClickAsync(new() { Timeout = 10_000 });
        }
        catch (TimeoutException)
        {
            // The page may have gone to sign-in before the click: any message from it (a render's acknowledgement of a
            // live update) is activity that is checked too.
        }

        await Expect(viewer).ToHaveURLAsync(new Regex("/signin\\?ReturnUrl="));
        Assert.Empty(app.Get<SparkControl.Core.Audit.AuditLog>().Find(new() { Action = "service.stop" }));
    }

    [Fact]
    public async Task FiveWrongPasswords_LockTheAccount_AndThePageSaysForHowLong()
    {
        await using var app = await StartSignedAsync();
        using var http = app.CreateClient();
        await http.GetAsync("/api/me");
        var token = (await File.ReadAllTextAsync(Path.Combine(app.DataDirectory, "setup-token"))).Trim();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/setup");
        await page.GetByTestId("setup-token").FillAsync(token);
        await page.GetByTestId("setup-name").FillAsync("ada");
        await page.GetByTestId("setup-password").FillAsync("ada-password-1");
        await page.GetByTestId("setup-submit").ClickAsync();
        await page.GetByTestId("sign-out").ClickAsync();

        for (var i = 0; i < 5; i++)
        {
            await SignInAsync(page, "ada", $"not-her-password-{i}");
            await Expect(page.GetByTestId("signin-error")).ToBeVisibleAsync();
        }

        await SignInAsync(page, "ada", "ada-password-1");

        await Expect(page.GetByTestId("signin-error")).ToContainTextAsync("locked for 15 minutes");
        await page.SaveScreenshotAsync("signin-locked.png");
    }

    [Fact]
    public async Task APageFromAnotherOrigin_CannotRebootOrOpenTheHub_EvenWhereThePanelIsOpen()
    {
        // The demo on loopback: open, everyone admin. The operator visits a hostile page in the same browser.
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Security:AllowAnonymous"] = "false" });
        var panel = app.BaseAddress.GetLeftPart(UriPartial.Authority);
        var html = $$"""
            <!DOCTYPE html><html><body><p id="result">running</p><script>
            const results = [];
            fetch('{{panel}}/api/sparks/demo/actions/reboot?stopModelsFirst=true', { method: 'POST', mode: 'no-cors', credentials: 'include' })
              .then(() => results.push('post sent'), e => results.push('post failed'))
              .finally(() => {
                const ws = new WebSocket('{{panel.Replace("http://", "ws://", StringComparison.Ordinal)}}/hubs/swaps');
                ws.onopen = () => { results.push('ws open'); document.getElementById('result').textContent = results.join(', '); };
                ws.onerror = () => { results.push('ws refused'); document.getElementById('result').textContent = results.join(', '); };
              });
            </script></body></html>
            """;
        using var hostile = new HostilePage(html);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("spark-demo")).ToBeVisibleAsync();

        await page.GotoAsync(hostile.Address.ToString());
        await Expect(page.Locator("#result")).ToHaveTextAsync("post sent, ws refused");

        // Nothing ran on the demo Spark: no host action, and the audit log has no reboot.
        using var http = app.CreateClient();
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/api/sparks/demo/actions/current")).StatusCode);
        Assert.Equal("[]", await http.GetStringAsync("/api/audit?action=reboot"));
        Assert.Equal("[]", await http.GetStringAsync("/api/audit?target=reboot"));
    }

    /// <summary>A page on another loopback port: another origin, as a site the operator visits would be.</summary>
    private sealed class HostilePage : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        public HostilePage(string html)
        {
            var port = FreePort();
            Address = new Uri($"http://127.0.0.1:{port}/");
            _listener.Prefixes.Add(Address.ToString());
            _listener.Start();
            var body = Encoding.UTF8.GetBytes(html);
            _serving = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    context.Response.ContentType = "text/html; charset=utf-8";
                    await context.Response.OutputStream.WriteAsync(body);
                    context.Response.Close();
                }
            });
        }

        public Uri Address { get; }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }

        private static int FreePort()
        {
            using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }
    }
}
