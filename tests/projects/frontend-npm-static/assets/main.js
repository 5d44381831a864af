document.title = "shop: bundle loaded";
