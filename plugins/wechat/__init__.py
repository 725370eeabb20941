"""Built-in WeChat channels: official accounts (``wechat``) and WeCom external contacts
(``wecom``), written against the public plugin contract only."""
