using Microsoft.Playwright;

namespace SparkControl.Tests.Infrastructure;

public static class PageScreenshots
{
    /// <summary>
    /// Saves what the page shows under <see cref="Tools.ArtifactsDirectory"/>, with CSS transitions run to their end
    /// first: on a loaded machine a screenshot otherwise catches the navigation drawer mid-slide over the content.
    /// </summary>
    public static Task SaveScreenshotAsync(this IPage page, string fileName, bool fullPage = true) =>
        page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(Tools.ArtifactsDirectory, fileName),
            FullPage = fullPage,
            Animations = ScreenshotAnimations.Disabled,
        });
}
