using System.Net;
using System.Net.Http.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;

namespace SparkControl.Tests.Web;

public sealed class HealthzTests
{
    [Fact]
    public async Task Healthz_DemoApp_ReportsOkWithItsDataDirectory()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        var response = await client.GetAsync("/healthz");
        var body = await response.Content.ReadFromJsonAsync<HealthzEndpoints.HealthzResponse>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", body!.Status);
        Assert.True(body.Demo);
        Assert.Equal(Path.GetFullPath(app.DataDirectory), body.DataDirectory.Path);
        Assert.True(body.Database.Available);
        Assert.Equal("127.0.0.1", app.BaseAddress.Host);
    }
}
